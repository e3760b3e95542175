"""The per-round report: one JSON document (the source of truth) rendered to Markdown and HTML.

``report.json`` holds the evaluation on the test split, the delta against the previously promoted round, the gate
decision, and what the caller adds as data: the project's F1 history, a Label Studio link template for sentences
that came from a task, and optional quality sections (``agreement``, ``label_issues``; see
``training.report_sections``). ``render_markdown``/``render_html`` work from that dict alone, so ``nerloop report``
can re-render or export any past round. Machine paths are shown relative to the project's folder (or as a file
name); the raw ``evaluated_on`` stays in the ``machine`` field of report.json.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from core.errors import RegistryError
from core.project import ProjectRef
from store.registry import write_json
from training.manifest import now
from training.metrics import Evaluation
from training.report_html import render_html
from training.report_marks import marked_markdown, md_escape
from training.report_sections import agreement_markdown, history_markdown, label_issues_markdown, trim_sections
from training.report_terms import (
    ERROR_TITLES,
    describe_interval,
    describe_training,
    describe_windows,
    hidden_sentences,
    sentence_blocks,
    sentence_link,
    shorten_paths,
)

FORMATS = ("json", "md", "html")


def compute_delta(evaluation: Evaluation, previous: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Micro and per-entity F1 differences against a previous report's evaluation (None when there is none)."""
    if not previous:
        return None
    before = {e["label"]: e["f1"] for e in previous["entities"]}
    return {"micro_f1": evaluation.micro.f1 - previous["micro"]["f1"],
            "by_label": {e.label: e.f1 - before[e.label] for e in evaluation.entities if e.label in before}}


def _shorten_sources(evaluation: dict[str, Any], root: Path | None) -> dict[str, Any]:
    for item in (*evaluation["errors"], *evaluation["error_sentences"]):
        item["source"] = shorten_paths(item["source"], root)
    return evaluation


def build_report(round_name: str, evaluation: Evaluation, *, evaluated_on: str,
                 previous_name: str | None = None, previous: Mapping[str, Any] | None = None,
                 gate: Mapping[str, Any] | None = None, training: Mapping[str, Any] | None = None,
                 project_dir: str | Path | None = None, history: Iterable[Mapping[str, Any]] = (),
                 task_link: str | None = None, sections: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The report dict (JSON types only): ``previous`` is the previous promoted round's evaluation dict on the
    same test data; ``history`` the project's earlier rounds (``report_sections.round_history``; this round is
    appended); ``task_link`` e.g. ``http://studio/projects/3/data?task={task}``; ``sections`` the optional quality
    sections by name (``agreement``, ``label_issues``; None values are left out)."""
    root = Path(project_dir) if project_dir is not None else None
    this_round = {"round": round_name, "micro_f1": evaluation.micro.f1, "created": now(),
                  "promoted": bool((gate or {}).get("promoted")), "sentences": (training or {}).get("sentences")}
    gate = dict(gate or {})
    if "reason" in gate:
        gate["reason"] = shorten_paths(str(gate["reason"]), root)
    report = {"round": round_name, "evaluated_on": shorten_paths(evaluated_on, root),
              "evaluation": _shorten_sources(dataclasses.asdict(evaluation), root),
              "previous": {"round": previous_name, "micro_f1": previous["micro"]["f1"],
                           "f1_by_label": {e["label"]: e["f1"] for e in previous["entities"]}} if previous else None,
              "delta": compute_delta(evaluation, previous), "gate": gate,
              "training": dict(training or {}), "history": [*map(dict, history), this_round],
              "task_link": task_link, "sections": trim_sections(sections),
              "machine": {"evaluated_on": evaluated_on}}
    return json.loads(json.dumps(report))


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _signed(value: float | None) -> str:
    return "" if value is None else f"{100 * value:+.1f}"


def render_markdown(report: Mapping[str, Any]) -> str:
    ev, delta, gate = report["evaluation"], report.get("delta") or {}, report.get("gate") or {}
    by_label = delta.get("by_label", {})
    lines = [f"# Report for {report['round']}", "",
             f"Evaluated on {shorten_paths(str(report['evaluated_on']))} ({ev['sentences']} sentences), "
             "seqeval strict IOB2.", ""]
    if gate:
        verdict = "Promoted" if gate.get("promoted") else "Not promoted"
        lines += [f"**{verdict}**: {shorten_paths(str(gate.get('reason', '')))}", ""]
    trained, windows = describe_training(report.get("training")), describe_windows(report.get("training"))
    lines += [line for text in (trained, windows) if text for line in (text, "")]
    lines += ["## Scores", "", "| entity | precision | recall | F1 | support | ΔF1 |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for e in ev["entities"]:
        lines.append(f"| {e['label']} | {_pct(e['precision'])} | {_pct(e['recall'])} | {_pct(e['f1'])} | "
                     f"{e['support']} | {_signed(by_label.get(e['label']))} |")
    for name in ("micro", "macro"):
        s = ev[name]
        change = _signed(delta.get("micro_f1")) if name == "micro" else ""
        lines.append(f"| **{name} avg** | {_pct(s['precision'])} | {_pct(s['recall'])} | {_pct(s['f1'])} | "
                     f"{s['support']} | {change} |")
    lines += ["", f"Token accuracy: {_pct(ev['token_accuracy'])}%{describe_interval(ev)}", ""]
    previous = report.get("previous")
    lines += ["## Delta", "", (f"Against {previous['round']} (micro F1 {_pct(previous['micro_f1'])}): "
                               f"{_signed(delta['micro_f1'])} points." if previous
                               else "No previous promoted round to compare with."), ""]
    labels, counts = ev["confusion"]["labels"], ev["confusion"]["counts"]
    lines += ["## Confusion matrix (tokens; rows gold, columns predicted)", "",
              "| gold \\ predicted | " + " | ".join(labels) + " |", "| --- |" + " ---: |" * len(labels)]
    lines += [f"| {label} | " + " | ".join(str(c) for c in row) + " |" for label, row in zip(labels, counts,
                                                                                              strict=True)]
    lines += _history_and_sections(report)
    return "\n".join(lines + error_markdown(report)) + "\n"


def _history_and_sections(report: Mapping[str, Any]) -> list[str]:
    sections = report.get("sections") or {}
    lines = history_markdown(report.get("history") or [])
    if sections.get("agreement"):
        lines += agreement_markdown(sections["agreement"])
    if sections.get("label_issues"):
        lines += label_issues_markdown(sections["label_issues"])
    return lines


def error_markdown(report: Mapping[str, Any]) -> list[str]:
    """The errors grouped by sentence: the sentence once with gold and predicted spans, then its errors."""
    ev = report["evaluation"]
    summary = ", ".join(f"{ERROR_TITLES[k]} {v}" for k, v in ev["error_counts"].items())
    lines = ["## Errors by sentence", "", f"Counts: {summary}.", ""]
    for block in sentence_blocks(ev):
        source = shorten_paths(block["source"])
        link = sentence_link(report, block["source"])
        lines.append(f"### [{source}]({link})" if link else f"### {source}")
        lines.append("")
        if block["gold"] is None:
            lines += [f"    {block['text']}", ""]  # a code block: shown as it is
        else:
            lines += [f"- gold: {marked_markdown(block['text'], block['gold'])}",
                      f"- predicted: {marked_markdown(block['text'], block['predicted'])}", ""]
        lines += [f"1. {md_escape(error)}" for error in block["errors"]] + [""]
    hidden = hidden_sentences(ev)
    if hidden:
        lines += [f"… and {hidden} more sentence(s) with errors not shown.", ""]
    return lines


def exported_folder(reports_dir: str | Path, project: ProjectRef | str | None, round_name: str) -> Path:
    """Where a round's report files go in a reports folder (``round --reports`` and ``report --export`` alike):
    ``<reports_dir>/project-<id>/<round>/``, so one folder holds every project's rounds side by side."""
    return Path(reports_dir) / ProjectRef.parse(project).folder / round_name


def write_report(folder: str | Path, report: Mapping[str, Any], formats: Iterable[str] = FORMATS) -> dict[str, Path]:
    """Write ``report.<fmt>`` for each format into ``folder``; returns format → path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for fmt in formats:
        if fmt not in FORMATS:
            raise RegistryError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
        path = folder / f"report.{fmt}"
        if fmt == "json":
            write_json(path, report)
        else:
            path.write_text(render_markdown(report) if fmt == "md" else render_html(report), encoding="utf-8")
        paths[fmt] = path
    return paths
