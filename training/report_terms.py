"""Words and small helpers both report renderers (Markdown in ``training.report``, HTML in
``training.report_html``) use, so neither imports the other: error titles, the sentence blocks of the error
section, label colours, and machine paths shown relative to the project."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ERROR_TITLES = {"false_positive": "spurious", "false_negative": "missed",
                "wrong_type": "wrong type", "wrong_boundary": "wrong span"}
# displaCy's pastel entity colours, given to the report's labels in sorted order (the same label, the same colour)
PALETTE = ("#7aecec", "#feca74", "#bfeeb7", "#aa9cfc", "#ff9561", "#c887fb", "#9cc9cc", "#ffeb80", "#ff8197",
           "#bfe1d9", "#e4e7d2", "#c8d6ff", "#fcd2b3", "#f0d0ff")
TASK_SOURCE = re.compile(r"^task (\d+)$")
ABSOLUTE_PATH = re.compile(r"(?<![\w.~/-])/[^\s;:,()'\"]+")


def describe_windows(training: Mapping[str, Any] | None) -> str | None:
    """One sentence on the training texts longer than the window (None when the report does not record it)."""
    windows = (training or {}).get("windows")
    if not windows:
        return None
    if not windows["windowed"]:
        return (f"All {windows['texts']} training texts fit the window ({windows['max_length']} sub-tokens); "
                "none was cut.")
    return (f"{windows['windowed']} of {windows['texts']} training texts were longer than the window "
            f"({windows['max_length']} sub-tokens) and were cut into overlapping windows (stride "
            f"{windows['stride']}; {windows['windows']} model inputs in all); nothing was truncated.")


def describe_training(training: Mapping[str, Any] | None) -> str | None:
    """One sentence on how the round trained: seconds, device, what it started from, on how many sentences."""
    training = training or {}
    if "train_seconds" not in training:
        return None
    start = training.get("started_from")
    warm = start is not None and str(start).startswith("round-")
    origin = (f", starting from {start}'s weights (warm start)" if warm
              else f", starting from the base model {shorten_paths(str(start))}" if start else "")
    sentences = f" on {training['sentences']} annotated sentences" if training.get("sentences") else ""
    device = f" on {training['device']}" if training.get("device") else ""
    scored = (f" Scored the test set at {training['test_sentences_per_s']:,.0f} sentences/s "
              f"({training.get('runtime', 'torch')})." if training.get("test_sentences_per_s") else "")
    return f"Trained in {training['train_seconds']:.0f} s{device}{sentences}{origin}.{scored}"


def describe_interval(evaluation: Mapping[str, Any]) -> str:
    """``; micro F1 95 % interval 77.9–80.7 (bootstrap over test sentences)``, or nothing for older reports."""
    interval = evaluation.get("micro_f1_interval")
    if not interval:
        return ""
    low, high = interval
    return f"; micro F1 95 % interval {100 * low:.1f}–{100 * high:.1f} (bootstrap over test sentences)"


def shorten_paths(text: str, root: str | Path | None = None) -> str:
    """``text`` with each absolute path in it shown relative to ``root`` (the project's folder) when under it,
    else as its file name."""
    def shown(match: re.Match[str]) -> str:
        path = Path(match.group(0))
        if root is not None:
            try:
                return path.relative_to(Path(root)).as_posix() or "."
            except ValueError:
                pass
        return path.name or match.group(0)

    return ABSOLUTE_PATH.sub(shown, text)


def label_colours(labels: Sequence[str]) -> dict[str, str]:
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(sorted(set(labels)))}


def sentence_link(report: Mapping[str, Any], source: str) -> str | None:
    """The Label Studio address of a sentence that came from a task (``"task <id>"``), when the report has a link
    template (``{task}`` stands for the id)."""
    template, match = report.get("task_link"), TASK_SOURCE.match(source or "")
    return template.replace("{task}", match.group(1)) if template and match else None


def _char_spans(tokens: Sequence[str], chunks: Sequence[Sequence[Any]]) -> list[tuple[int, int, str]]:
    starts, offset = [], 0
    for token in tokens:
        starts.append(offset)
        offset += len(token) + 1
    return [(starts[s], starts[e - 1] + len(tokens[e - 1]), label) for s, e, label in chunks]


def _phrase(tokens: Sequence[str], chunk: Sequence[Any] | None) -> str:
    return f"{chunk[2]} “{' '.join(tokens[chunk[0]:chunk[1]])}”" if chunk else ""


def describe_error(kind: str, tokens: Sequence[str], gold: Sequence[Any] | None, pred: Sequence[Any] | None) -> str:
    title = ERROR_TITLES[kind]
    if kind == "false_negative":
        return f"{title}: {_phrase(tokens, gold)}"
    if kind == "false_positive":
        return f"{title}: {_phrase(tokens, pred)}"
    shown = pred[2] if kind == "wrong_type" and pred else _phrase(tokens, pred)
    return f"{title}: {_phrase(tokens, gold)} predicted as {shown}"


def sentence_blocks(evaluation: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One block per sentence with errors, worst first: ``{"source", "text", "gold", "predicted", "errors"}``
    (spans as character offsets; ``gold``/``predicted`` None in a report written before they were recorded, whose
    blocks are grouped from its error rows)."""
    if "error_sentences" in evaluation:
        return [{"source": s["source"], "text": " ".join(s["tokens"]),
                 "gold": _char_spans(s["tokens"], s["gold"]), "predicted": _char_spans(s["tokens"], s["predicted"]),
                 "errors": [describe_error(kind, s["tokens"], g, p) for kind, g, p in s["errors"]]}
                for s in evaluation["error_sentences"]]
    blocks: dict[tuple[str, str], dict[str, Any]] = {}
    for e in evaluation["errors"]:
        block = blocks.setdefault((e["sentence"], e["source"]), {"source": e["source"], "text": e["sentence"],
                                                                 "gold": None, "predicted": None, "errors": []})
        block["errors"].append(f"{ERROR_TITLES[e['kind']]}: " + " predicted as ".join(
            part for part in (e["gold"], e["predicted"]) if part))
    return list(blocks.values())


def hidden_sentences(evaluation: Mapping[str, Any]) -> int:
    """How many sentences with errors the report does not show."""
    return max(0, evaluation.get("sentences_with_errors", 0) - len(evaluation.get("error_sentences", ())))
