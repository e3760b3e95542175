"""The report's optional sections, given as data by the caller: the project's F1 over its rounds (an inline SVG
chart), inter-annotator agreement and the label-error finder's latest result (``nerloop audit --project`` saves it
as ``audit.json`` in the project's folder; ``latest_audit`` reads it).
Each renderer returns HTML or Markdown lines; text from users is escaped (the agreement and label-error sections
and the F1 chart are autoescaped Jinja2 templates, ``training.report_templates``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from markupsafe import Markup

from store.registry import list_rounds
from training.report_marks import marked_html, marked_markdown, md_escape
from training.report_templates import render, safe_href
from training.report_terms import label_colours, shorten_paths

AUDIT_FILE = "audit.json"
SHOWN_ITEMS = 20  # disagreements and label issues shown in a report


def trim_sections(sections: Mapping[str, Any] | None) -> dict[str, Any]:
    """The sections a report keeps: None values left out, and only the disagreements and issues it shows (their
    totals kept as ``disagreements_total`` / ``issues_total``), so report.json stays small for a large project."""
    kept: dict[str, Any] = {}
    for name, section in (sections or {}).items():
        if section is None:
            continue
        section = dict(section)
        for key in ("disagreements", "issues"):
            if key in section:
                section.setdefault(f"{key}_total", len(section[key]))
                section[key] = section[key][:SHOWN_ITEMS]
        kept[name] = section
    return kept


def round_history(models_dir: str | Path) -> list[dict[str, Any]]:
    """The project's rounds, oldest first: ``{"round", "micro_f1", "created", "promoted", "sentences"}`` (rounds
    with metrics; ``sentences``: the annotated sentences it trained on, training and validation, or None)."""
    return [{"round": r.name, "micro_f1": r.manifest["metrics"]["micro_f1"], "created": r.manifest.get("created"),
             "promoted": bool(r.manifest.get("promoted")), "sentences": trained_sentences(r.manifest)}
            for r in list_rounds(models_dir) if "micro_f1" in r.manifest.get("metrics", {})]


def trained_sentences(manifest: Mapping[str, Any]) -> int | None:
    counts = (manifest.get("data") or {}).get("counts") or {}
    return (int(counts.get("train", 0)) + int(counts.get("validation", 0))) or None


def labelling_gain(history: list[Mapping[str, Any]], *, last: int = 3) -> dict[str, Any] | None:
    """What the last rounds' annotations bought: F1 points per 100 more annotated sentences, from the oldest of
    the last ``last`` rounds that trained on fewer sentences to the newest round; None without two such rounds."""
    known = [h for h in history if h.get("sentences")]
    if len(known) < 2:
        return None
    newest = known[-1]
    earlier = [h for h in known[-last:-1] if h["sentences"] < newest["sentences"]]
    if not earlier:
        return None
    start = earlier[0]
    added = newest["sentences"] - start["sentences"]
    change = newest["micro_f1"] - start["micro_f1"]
    return {"from": start["round"], "to": newest["round"], "added": added, "f1_change": round(change, 4),
            "points_per_100": round(100 * 100 * change / added, 2)}


def describe_gain(gain: Mapping[str, Any]) -> str:
    return (f"From {gain['from']} to {gain['to']}, {gain['added']} more annotated sentences moved micro F1 by "
            f"{100 * gain['f1_change']:+.1f} points: {gain['points_per_100']:+.2f} points per 100 annotations.")


def latest_audit(project_dir: str | Path) -> dict[str, Any] | None:
    """The label-error finder's result saved in the project's folder, or None."""
    path = Path(project_dir) / AUDIT_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def history_svg(history: list[Mapping[str, Any]], width: int = 640, height: int = 220, *,
                by_sentences: bool = False) -> Markup:
    """Micro F1 per round as a line with one ``<circle class="point">`` per round (filled: promoted); against the
    round's number, or (``by_sentences``, ``<svg class="gain">``) against the annotated sentences it trained on."""
    left, right, top, bottom = 44, 16, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(history) - 1)
    counts = [h.get("sentences") or 0 for h in history]
    low, span = min(counts, default=0), (max(counts, default=0) - min(counts, default=0)) or 1

    def xy(i: int, f1: float) -> tuple[float, float]:
        if by_sentences:
            x = left + ((counts[i] - low) / span * plot_w if len(history) > 1 else plot_w / 2)
        else:
            x = left + (i * step if len(history) > 1 else plot_w / 2)
        return round(x, 1), round(top + (1 - f1) * plot_h, 1)

    xys = [xy(i, h["micro_f1"]) for i, h in enumerate(history)]
    every = max(1, len(history) // 12)
    points = [{"name": str(h["round"]), "x": x, "y": y, "fill": "#4a7ebb" if h.get("promoted") else "#fff",
               "f1": f"{100 * h['micro_f1']:.1f}", "state": "promoted" if h.get("promoted") else "not promoted",
               "when": f", {str(h['created'])[:16]}" if h.get("created") else "",
               "axis": (str(counts[i]) if by_sentences else str(h["round"]).removeprefix("round-").lstrip("0") or "0")
               if i % every == 0 or i == len(history) - 1 else None}
              for i, (h, (x, y)) in enumerate(zip(history, xys, strict=True))]
    return render("history_svg", width=width, height=height, left=left, right_x=width - right, tick_x=left - 6,
                  css_class="gain" if by_sentences else "history",
                  label="micro F1 against annotated sentences" if by_sentences else "micro F1 per round",
                  caption="annotated sentences trained on" if by_sentences else "round",
                  ticks=[(round(top + (1 - tick) * plot_h, 1), f"{tick:.2f}") for tick in (0.0, 0.25, 0.5, 0.75, 1.0)],
                  polyline=" ".join(f"{x},{y}" for x, y in xys), points=points, axis_y=height - bottom + 16,
                  caption_x=left + plot_w / 2)


def history_html(history: list[Mapping[str, Any]]) -> Markup:
    if not history:
        return Markup("")
    out = Markup("<h2 id=\"history\">F1 over the project's rounds</h2><p>Micro F1 of each round on its own test "
                 "data.</p>") + history_svg(history)
    counted = [h for h in history if h.get("sentences")]
    if len({h["sentences"] for h in counted}) < 2:  # no round added annotations yet: nothing to weigh
        return out
    gain = labelling_gain(history)
    out += Markup("<h2 id=\"labelling-pays\">Does labelling still pay?</h2><p>Micro F1 against the annotated "
                  "sentences each round trained on.</p>") + history_svg(counted, by_sentences=True)
    return out + (Markup("<p class=\"gain\">{}</p>").format(describe_gain(gain)) if gain else Markup(""))


def history_markdown(history: list[Mapping[str, Any]]) -> list[str]:
    if not history:
        return []
    lines = ["## F1 over the project's rounds", "", "| round | created | annotated sentences | micro F1 | promoted |",
             "| --- | --- | ---: | ---: | --- |"]
    lines += [f"| {h['round']} | {str(h.get('created') or '')[:16]} | {h.get('sentences') or ''} | "
              f"{100 * h['micro_f1']:.1f} | {'yes' if h.get('promoted') else 'no'} |" for h in history]
    gain = labelling_gain(history)
    return [*lines, "", *([f"Does labelling still pay? {describe_gain(gain)}", ""] if gain else [])]


def _link_html(link: str | None, text: str) -> Markup:
    return render("link", href=safe_href(link), text=text)


def _link_md(link: str | None, text: str) -> str:
    return f"[{text}]({link})" if link else text


def _who(annotator: Any) -> str:
    return f"annotator {annotator}" if isinstance(annotator, int) else str(annotator)


def _spans_text(spans: list[Mapping[str, Any]]) -> str:
    return "; ".join(f"{s['label']} “{s['text']}”" for s in spans) or "nothing"


def agreement_html(section: Mapping[str, Any]) -> Markup:
    shown = section["disagreements"][:SHOWN_ITEMS]
    total = section.get("disagreements_total", len(section["disagreements"]))
    return render(
        "agreement", tasks_compared=section["tasks_compared"],
        pairs=[{"who": " / ".join(map(_who, p["annotators"])), "tasks": p["tasks"], "f1": f"{100 * p['span_f1']:.1f}",
                "kappa": f"{p['kappa']:.3f}"} for p in section["pairs"]],
        labels=[(label, f"{100 * v['span_f1']:.1f}", v["matched"]) for label, v in section["by_label"].items()],
        disagreements=[{"task": _link_html(d.get("link"), "task " + str(d["task"])), "a": _who(d["annotators"][0]),
                        "b": _who(d["annotators"][1]), "only_a": _spans_text(d["only_a"]),
                        "only_b": _spans_text(d["only_b"])} for d in shown],
        more=total - len(shown) if total > len(shown) else 0)


def agreement_markdown(section: Mapping[str, Any]) -> list[str]:
    lines = ["## Annotator agreement", "", f"{section['tasks_compared']} task(s) with two or more annotations "
             "compared.", "", "| annotators | tasks | span F1 | token kappa |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {md_escape(' / '.join(map(_who, p['annotators'])))} | {p['tasks']} | {100 * p['span_f1']:.1f} | "
              f"{p['kappa']:.3f} |" for p in section["pairs"]]
    lines.append("")
    for d in section["disagreements"][:SHOWN_ITEMS]:
        a, b = (_who(x) for x in d["annotators"])
        lines.append(f"- {_link_md(d.get('link'), 'task ' + str(d['task']))}: {a} only: "
                     f"{md_escape(_spans_text(d['only_a']))}; {b} only: {md_escape(_spans_text(d['only_b']))}")
    return [*lines, ""]


def _issue_spans(spans: list[Mapping[str, Any]]) -> list[tuple[int, int, str]]:
    return [(s["start"], s["end"], s["label"]) for s in spans]


def _audit_summary(audit: Mapping[str, Any]) -> str:
    when = f"audit of {str(audit['created'])[:16]}, " if audit.get("created") else ""
    total = audit.get("issues_total", len(audit["issues"]))
    return (f"{total} suspect task(s) of {audit['sentences']} ({when}{audit['folds']} folds, "
            f"{audit['epochs']:g} epochs; export {shorten_paths(str(audit.get('export', '')))}), most suspect first.")


def label_issues_html(audit: Mapping[str, Any], labels: list[str]) -> Markup:
    colours = label_colours(labels + [s["label"] for i in audit["issues"] for s in i["annotated_spans"]
                                      + i["suggested_spans"]])
    issues = []
    for issue in audit["issues"][:SHOWN_ITEMS]:
        annotated, suggested = _issue_spans(issue["annotated_spans"]), _issue_spans(issue["suggested_spans"])
        issues.append({"task": _link_html(issue.get("link"), "task " + str(issue["task"])),
                       "score": f"{issue['score']:.3f}",
                       "who": f" by {issue['annotator']}" if issue.get("annotator") is not None else "",
                       "annotated": marked_html(issue["text"], annotated, colours, set(annotated) - set(suggested)),
                       "suggested": marked_html(issue["text"], suggested, colours, set(suggested) - set(annotated))})
    total = audit.get("issues_total", len(audit["issues"]))
    return render("label_issues", summary=_audit_summary(audit), issues=issues,
                  more=total - SHOWN_ITEMS if total > SHOWN_ITEMS else 0)


def label_issues_markdown(audit: Mapping[str, Any]) -> list[str]:
    lines = ["## Probable label errors", "", _audit_summary(audit), ""]
    for issue in audit["issues"][:SHOWN_ITEMS]:
        lines += [f"- {_link_md(issue.get('link'), 'task ' + str(issue['task']))} (score {issue['score']:.3f})",
                  f"  - annotated: {marked_markdown(issue['text'], _issue_spans(issue['annotated_spans']))}",
                  f"  - model: {marked_markdown(issue['text'], _issue_spans(issue['suggested_spans']))}"]
    return [*lines, ""]
