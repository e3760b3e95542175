"""The report's optional sections, given as data by the caller: the project's F1 over its rounds (an inline SVG
chart), inter-annotator agreement and the label-error finder's latest result (``nerloop audit --project`` saves it
as ``audit.json`` in the project's folder; ``latest_audit`` reads it).
Each renderer returns HTML or Markdown lines; text from users is escaped."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from store.registry import list_rounds
from training.report_marks import marked_html, marked_markdown, md_escape
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
    """The project's rounds, oldest first: ``{"round", "micro_f1", "created", "promoted"}`` (rounds with metrics)."""
    return [{"round": r.name, "micro_f1": r.manifest["metrics"]["micro_f1"], "created": r.manifest.get("created"),
             "promoted": bool(r.manifest.get("promoted"))}
            for r in list_rounds(models_dir) if "micro_f1" in r.manifest.get("metrics", {})]


def latest_audit(project_dir: str | Path) -> dict[str, Any] | None:
    """The label-error finder's result saved in the project's folder, or None."""
    path = Path(project_dir) / AUDIT_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def history_svg(history: list[Mapping[str, Any]], width: int = 640, height: int = 220) -> str:
    """Micro F1 per round as a line with one ``<circle class="point">`` per round (filled: promoted)."""
    left, right, top, bottom = 44, 16, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(history) - 1)

    def xy(i: int, f1: float) -> tuple[float, float]:
        x = left + (i * step if len(history) > 1 else plot_w / 2)
        return round(x, 1), round(top + (1 - f1) * plot_h, 1)

    parts = [f'<svg class="history" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="micro F1 per round">']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = round(top + (1 - tick) * plot_h, 1)
        parts.append(f'<line x1="{left}" y1="{y}" x2="{width - right}" y2="{y}" stroke="#e4e4e4"/>'
                     f'<text x="{left - 6}" y="{y + 4}" font-size="11" text-anchor="end">{tick:.2f}</text>')
    points = [xy(i, h["micro_f1"]) for i, h in enumerate(history)]
    parts.append('<polyline fill="none" stroke="#4a7ebb" stroke-width="2" points="'
                 + " ".join(f"{x},{y}" for x, y in points) + '"/>')
    every = max(1, len(history) // 12)
    for i, (h, (x, y)) in enumerate(zip(history, points, strict=True)):
        fill = "#4a7ebb" if h.get("promoted") else "#fff"
        name = html.escape(str(h["round"]))
        when = f", {html.escape(str(h['created'])[:16])}" if h.get("created") else ""
        state = "promoted" if h.get("promoted") else "not promoted"
        parts.append(f'<circle class="point" data-round="{name}" cx="{x}" cy="{y}" r="4.5" fill="{fill}" '
                     f'stroke="#4a7ebb" stroke-width="2"><title>{name}: micro F1 {100 * h["micro_f1"]:.1f} '
                     f'({state}{when})</title></circle>')
        if i % every == 0 or i == len(history) - 1:
            parts.append(f'<text x="{x}" y="{height - bottom + 16}" font-size="11" text-anchor="middle">'
                         f'{name.removeprefix("round-").lstrip("0") or "0"}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 4}" font-size="11" text-anchor="middle">round '
                 '(filled: promoted)</text></svg>')
    return "".join(parts)


def history_html(history: list[Mapping[str, Any]]) -> str:
    if not history:
        return ""
    return ("<h2 id=\"history\">F1 over the project's rounds</h2><p>Micro F1 of each round on its own test data.</p>"
            + history_svg(history))


def history_markdown(history: list[Mapping[str, Any]]) -> list[str]:
    if not history:
        return []
    lines = ["## F1 over the project's rounds", "", "| round | created | micro F1 | promoted |",
             "| --- | --- | ---: | --- |"]
    lines += [f"| {h['round']} | {str(h.get('created') or '')[:16]} | {100 * h['micro_f1']:.1f} | "
              f"{'yes' if h.get('promoted') else 'no'} |" for h in history]
    return [*lines, ""]


def _link_html(link: str | None, text: str) -> str:
    return f'<a href="{html.escape(link)}">{html.escape(text)}</a>' if link else html.escape(text)


def _link_md(link: str | None, text: str) -> str:
    return f"[{text}]({link})" if link else text


def _who(annotator: Any) -> str:
    return f"annotator {annotator}" if isinstance(annotator, int) else str(annotator)


def _spans_text(spans: list[Mapping[str, Any]]) -> str:
    return "; ".join(f"{s['label']} “{s['text']}”" for s in spans) or "nothing"


def agreement_html(section: Mapping[str, Any]) -> str:
    parts = ['<h2 id="agreement">Annotator agreement</h2>'
             f"<p>{section['tasks_compared']} task(s) with two or more annotations compared.</p>"
             "<table><tr><th>annotators</th><th>tasks</th><th>span F1</th><th>token kappa</th></tr>"]
    parts += [f"<tr><td>{html.escape(' / '.join(map(_who, p['annotators'])))}</td><td class=\"n\">{p['tasks']}</td>"
              f"<td class=\"n\">{100 * p['span_f1']:.1f}</td><td class=\"n\">{p['kappa']:.3f}</td></tr>"
              for p in section["pairs"]]
    parts.append("</table><table><tr><th>label</th><th>span F1</th><th>matched</th></tr>")
    parts += [f"<tr><td>{html.escape(label)}</td><td class=\"n\">{100 * v['span_f1']:.1f}</td>"
              f"<td class=\"n\">{v['matched']}</td></tr>" for label, v in section["by_label"].items()]
    parts.append("</table>")
    shown = section["disagreements"][:SHOWN_ITEMS]
    if shown:
        parts.append("<h3>Disagreements</h3><ul class=\"disagreements\">")
        for d in shown:
            a, b = (html.escape(_who(x)) for x in d["annotators"])
            parts.append(f"<li>{_link_html(d.get('link'), 'task ' + str(d['task']))}: {a} only: "
                         f"{html.escape(_spans_text(d['only_a']))}; {b} only: {html.escape(_spans_text(d['only_b']))}"
                         "</li>")
        parts.append("</ul>")
        total = section.get("disagreements_total", len(section["disagreements"]))
        if total > len(shown):
            parts.append(f"<p>… and {total - len(shown)} more disagreement(s).</p>")
    return "".join(parts)


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


def label_issues_html(audit: Mapping[str, Any], labels: list[str]) -> str:
    colours = label_colours(labels + [s["label"] for i in audit["issues"] for s in i["annotated_spans"]
                                      + i["suggested_spans"]])
    parts = [f"<h2 id=\"label-issues\">Probable label errors</h2><p>{html.escape(_audit_summary(audit))}</p>"]
    for issue in audit["issues"][:SHOWN_ITEMS]:
        annotated, suggested = _issue_spans(issue["annotated_spans"]), _issue_spans(issue["suggested_spans"])
        who = f" by {issue['annotator']}" if issue.get("annotator") is not None else ""
        parts.append(f'<div class="issue"><p class="src">{_link_html(issue.get("link"), "task " + str(issue["task"]))}'
                     f" (score {issue['score']:.3f}, annotation{html.escape(who)})</p>"
                     f'<p class="line"><span class="which">annotated</span>'
                     f"{marked_html(issue['text'], annotated, colours, set(annotated) - set(suggested))}</p>"
                     f'<p class="line"><span class="which">model</span>'
                     f"{marked_html(issue['text'], suggested, colours, set(suggested) - set(annotated))}</p></div>")
    total = audit.get("issues_total", len(audit["issues"]))
    if total > SHOWN_ITEMS:
        parts.append(f"<p>… and {total - SHOWN_ITEMS} more suspect task(s).</p>")
    return "".join(parts)


def label_issues_markdown(audit: Mapping[str, Any]) -> list[str]:
    lines = ["## Probable label errors", "", _audit_summary(audit), ""]
    for issue in audit["issues"][:SHOWN_ITEMS]:
        lines += [f"- {_link_md(issue.get('link'), 'task ' + str(issue['task']))} (score {issue['score']:.3f})",
                  f"  - annotated: {marked_markdown(issue['text'], _issue_spans(issue['annotated_spans']))}",
                  f"  - model: {marked_markdown(issue['text'], _issue_spans(issue['suggested_spans']))}"]
    return [*lines, ""]
