"""The self-contained HTML report: inline base64 PNG charts (matplotlib Agg), an inline SVG of the project's F1
over its rounds, the tables, the quality sections, and the errors grouped by sentence (gold and predicted spans
marked inline, a link to the Label Studio task). No external resources; all text escaped."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from typing import Any

from training.report_marks import MARK_STYLE, marked_html
from training.report_sections import agreement_html, history_html, label_issues_html
from training.report_terms import (
    ERROR_TITLES,
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


def _cell(value: object, numeric: bool = False) -> str:
    return f"<td class=\"n\">{html.escape(str(value))}</td>" if numeric else f"<td>{html.escape(str(value))}</td>"


def _delta_cell(value: float | None) -> str:
    if value is None:
        return "<td></td>"
    return f"<td class=\"n {'up' if value >= 0 else 'down'}\">{100 * value:+.1f}</td>"


def render_html(report: Mapping[str, Any]) -> str:
    """A single HTML file (no external resources) for a report dict."""
    ev, delta, gate = report["evaluation"], report.get("delta") or {}, report.get("gate") or {}
    by_label, previous = delta.get("by_label", {}), report.get("previous")
    previous_f1 = previous.get("f1_by_label") if previous else None
    title = f"Report for {html.escape(report['round'])}"
    parts = [f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>"
             f"<style>{STYLE}</style></head><body><h1>{title}</h1>",
             f"<p>Evaluated on {html.escape(shorten_paths(str(report['evaluated_on'])))} ({ev['sentences']} "
             "sentences), "
             "seqeval strict IOB2.</p>"]
    if gate:
        verdict = "Promoted" if gate.get("promoted") else "Not promoted"
        parts.append(f"<p><b>{verdict}</b>: {html.escape(shorten_paths(str(gate.get('reason', ''))))}</p>")
    windows = describe_windows(report.get("training"))
    if windows:
        parts.append(f"<p>{html.escape(windows)}</p>")
    parts.append(_jump_list(report))
    parts.append("<h2>Scores</h2><table><tr><th>entity</th><th>precision</th><th>recall</th><th>F1</th>"
                 "<th>support</th><th>ΔF1</th></tr>")
    for e in ev["entities"]:
        parts.append("<tr>" + _cell(e["label"]) + "".join(_cell(f"{100 * e[k]:.1f}", True)
                                                           for k in ("precision", "recall", "f1"))
                     + _cell(e["support"], True) + _delta_cell(by_label.get(e["label"])) + "</tr>")
    for name in ("micro", "macro"):
        s = ev[name]
        parts.append(f"<tr><th>{name} avg</th>" + "".join(_cell(f"{100 * s[k]:.1f}", True)
                                                          for k in ("precision", "recall", "f1"))
                     + _cell(s["support"], True) + _delta_cell(delta.get("micro_f1") if name == "micro" else None)
                     + "</tr>")
    parts.append(f"</table><p>Token accuracy: {100 * ev['token_accuracy']:.1f}%</p><h2>Delta</h2>")
    parts.append(f"<p>Against {html.escape(previous['round'])} (micro F1 {100 * previous['micro_f1']:.1f}): "
                 f"{100 * delta['micro_f1']:+.1f} points.</p>" if previous
                 else "<p>No previous promoted round to compare with.</p>")
    parts.append(f"<h2>Per-entity F1</h2><img alt=\"per-entity F1\" src=\"{f1_chart(ev, previous_f1)}\">")
    parts.append(f"<h2>Confusion matrix</h2><img alt=\"confusion matrix\" src=\"{confusion_chart(ev['confusion'])}\">")
    parts.append(history_html(report.get("history") or []))
    sections = report.get("sections") or {}
    if sections.get("agreement"):
        parts.append(agreement_html(sections["agreement"]))
    if sections.get("label_issues"):
        parts.append(label_issues_html(sections["label_issues"], [e["label"] for e in ev["entities"]]))
    parts.append(errors_html(report))
    parts.append("</body></html>\n")
    return "".join(parts)


def _jump_list(report: Mapping[str, Any]) -> str:
    sections = report.get("sections") or {}
    shown = [("errors", "errors by sentence"), *([("history", "F1 over rounds")] if report.get("history") else []),
             *([("agreement", "annotator agreement")] if sections.get("agreement") else []),
             *([("label-issues", "probable label errors")] if sections.get("label_issues") else [])]
    return '<p class="jump">Jump to: ' + " · ".join(f'<a href="#{k}">{t}</a>' for k, t in shown) + "</p>"


def _line(which: str, text: str, spans: list, other: list, colours: dict[str, str]) -> str:
    shown = [tuple(s) for s in spans]
    return (f'<p class="line {which}"><span class="which">{which}</span>'
            f"{marked_html(text, shown, colours, set(shown) - {tuple(s) for s in other})}</p>")


def errors_html(report: Mapping[str, Any]) -> str:
    """One ``<div class="sentence">`` per sentence with errors: where it came from (a link to its Label Studio
    task when it came from one), the gold and the predicted line, and the list of its errors."""
    ev = report["evaluation"]
    colours = label_colours([e["label"] for e in ev["entities"]])
    counts = ", ".join(f"{ERROR_TITLES[k]} {v}" for k, v in ev["error_counts"].items())
    parts = [f"<h2 id=\"errors\">Errors by sentence</h2><p>Counts: {counts}. Spans only one line has are outlined.</p>"]
    for block in sentence_blocks(ev):
        source, link = html.escape(shorten_paths(block["source"])), sentence_link(report, block["source"])
        where = (f'<a class="task" href="{html.escape(link)}">{source}</a> (open in Label Studio)' if link
                 else source)
        parts.append(f'<div class="sentence"><p class="src">{where}</p>')
        if block["gold"] is None:
            parts.append(f'<p class="line">{html.escape(block["text"])}</p>')
        else:
            parts.append(_line("gold", block["text"], block["gold"], block["predicted"], colours)
                         + _line("predicted", block["text"], block["predicted"], block["gold"], colours))
        parts.append('<ul class="errors">' + "".join(f"<li>{html.escape(e)}</li>" for e in block["errors"])
                     + "</ul></div>")
    hidden = hidden_sentences(ev)
    if hidden:
        parts.append(f'<p class="hidden">… and {hidden} more sentence(s) with errors not shown.</p>')
    return "".join(parts)
