"""The self-contained HTML report: inline base64 PNG charts (matplotlib Agg), an inline SVG of the project's F1
over its rounds, the tables, the quality sections, and the errors grouped by sentence (gold and predicted spans
marked inline, a link to the Label Studio task). No external resources. The page and its sections are Jinja2
templates with autoescaping on (``training.report_templates``): every value is escaped unless it is ``Markup``."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from training.report_marks import MARK_STYLE, marked_html
from training.report_sections import agreement_html, history_html, label_issues_html
from training.report_templates import render, safe_href
from training.report_terms import (
    ERROR_TITLES,
    describe_interval,
    describe_training,
    describe_windows,
    hidden_sentences,
    label_colours,
    sentence_blocks,
    sentence_link,
    shorten_paths,
)

STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px}"
         "td.n{text-align:right}.up{color:#080}.down{color:#b00}"
         ".sentence,.issue{border:1px solid #ddd;border-radius:6px;padding:0.4em 1em;margin:0.8em 0}"
         ".src{color:#555;font-size:0.9em;margin:0.2em 0}.line{margin:0.1em 0}"
         ".which{display:inline-block;width:6.5em;color:#777;font-size:0.85em}"
         "ul.errors{margin:0.3em 0 0.3em 1em;padding-left:1em}" + MARK_STYLE)


def _png(figure: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def f1_chart(evaluation: Mapping[str, Any], previous_f1: Mapping[str, float] | None = None) -> str:
    """Horizontal bars of per-entity F1 (and the previous round's as outlines); a data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [e["label"] for e in evaluation["entities"]]
    scores = [e["f1"] for e in evaluation["entities"]]
    figure, axis = plt.subplots(figsize=(7, 0.4 * len(labels) + 1))
    axis.barh(labels, scores, color="#4a7ebb", label="this round")
    if previous_f1:
        axis.barh(labels, [previous_f1.get(label, 0.0) for label in labels], fill=False, edgecolor="#b00",
                  label="previous")
        axis.legend(loc="lower right")
    axis.set_xlim(0, 1)
    axis.invert_yaxis()
    axis.set_xlabel("entity F1 (strict IOB2)")
    return _png(figure)


def confusion_chart(confusion: Mapping[str, Any]) -> str:
    """Heat map of the token confusion matrix (log-scaled colours, counts written in the cells)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    labels, counts = confusion["labels"], np.array(confusion["counts"])
    figure, axis = plt.subplots(figsize=(0.7 * len(labels) + 2, 0.6 * len(labels) + 1.5))
    axis.imshow(np.log1p(counts), cmap="Blues")
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("gold")
    for (i, j), value in np.ndenumerate(counts):
        if value:
            axis.text(j, i, str(value), ha="center", va="center", fontsize=7,
                      color="white" if value > counts.max() / 3 else "black")
    return _png(figure)


def _row(name: str, scores: Mapping[str, Any], delta: float | None, *, avg: bool = False) -> dict[str, Any]:
    return {"name": name, "avg": avg, "scores": [f"{100 * scores[k]:.1f}" for k in ("precision", "recall", "f1")],
            "support": scores["support"], "delta": None if delta is None else f"{100 * delta:+.1f}",
            "delta_class": "up" if delta is not None and delta >= 0 else "down"}


def render_html(report: Mapping[str, Any]) -> str:
    """A single HTML file (no external resources) for a report dict."""
    ev, delta, gate = report["evaluation"], report.get("delta") or {}, report.get("gate") or {}
    by_label, previous = delta.get("by_label", {}), report.get("previous")
    previous_f1 = previous.get("f1_by_label") if previous else None
    rows = [_row(e["label"], e, by_label.get(e["label"])) for e in ev["entities"]]
    rows += [_row(name, ev[name], delta.get("micro_f1") if name == "micro" else None, avg=True)
             for name in ("micro", "macro")]
    sections = report.get("sections") or {}
    return str(render(
        "page", round=report["round"], style=Markup(STYLE), evaluated_on=shorten_paths(str(report["evaluated_on"])),
        sentences=ev["sentences"],
        gate={"verdict": "Promoted" if gate.get("promoted") else "Not promoted",
              "reason": shorten_paths(str(gate.get("reason", "")))} if gate else None,
        windows=describe_windows(report.get("training")), trained=describe_training(report.get("training")),
        jumps=_jumps(report), rows=rows,
        token_accuracy=f"{100 * ev['token_accuracy']:.1f}%{describe_interval(ev)}",
        previous={"round": previous["round"], "micro_f1": f"{100 * previous['micro_f1']:.1f}",
                  "delta": f"{100 * delta['micro_f1']:+.1f}"} if previous else None,
        f1_chart=Markup(f1_chart(ev, previous_f1)), confusion_chart=Markup(confusion_chart(ev["confusion"])),
        history=history_html(report.get("history") or []),
        agreement=agreement_html(sections["agreement"]) if sections.get("agreement") else "",
        label_issues=(label_issues_html(sections["label_issues"], [e["label"] for e in ev["entities"]])
                      if sections.get("label_issues") else ""),
        errors=errors_html(report)))


def _jumps(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    sections = report.get("sections") or {}
    return [("errors", "errors by sentence"), *([("history", "F1 over rounds")] if report.get("history") else []),
            *([("agreement", "annotator agreement")] if sections.get("agreement") else []),
            *([("label-issues", "probable label errors")] if sections.get("label_issues") else [])]


def _lines(block: Mapping[str, Any], colours: dict[str, str]) -> list[tuple[str, Markup]]:
    gold, predicted = [tuple(s) for s in block["gold"]], [tuple(s) for s in block["predicted"]]
    return [("gold", marked_html(block["text"], gold, colours, set(gold) - set(predicted))),
            ("predicted", marked_html(block["text"], predicted, colours, set(predicted) - set(gold)))]


def errors_html(report: Mapping[str, Any]) -> Markup:
    """One ``<div class="sentence">`` per sentence with errors: where it came from (a link to its Label Studio
    task when it came from one), the gold and the predicted line, and the list of its errors."""
    ev = report["evaluation"]
    colours = label_colours([e["label"] for e in ev["entities"]])
    counts = ", ".join(f"{ERROR_TITLES[k]} {v}" for k, v in ev["error_counts"].items())
    blocks = [{"source": shorten_paths(block["source"]), "link": safe_href(sentence_link(report, block["source"])),
               "text": block["text"], "errors": block["errors"],
               "lines": None if block["gold"] is None else _lines(block, colours)}
              for block in sentence_blocks(ev)]
    return render("errors", counts=counts, blocks=blocks, hidden=hidden_sentences(ev))
