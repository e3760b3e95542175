"""Read a Label Studio export (CONLL2003, JSON or JSON_MIN) into sentences plus a ``ConversionReport``.

All three routes give the same sentences for the same project (tested on a real Label Studio 1.23.2 export):
- Tokens come from ``converters.tokens.tokenize`` and spans are aligned by ``converters.align`` with the rules of
  Label Studio's own CONLL2003 export.
- One annotation per task (``policy``): ``newest`` (default; latest ``created_at``, ties to the one listed first:
  exactly the annotation Label Studio's CONLL2003 export writes first), ``last_edited`` (latest ``updated_at``),
  ``oldest``, or ``ground_truth`` (a ground-truth annotation first, then newest). Cancelled annotations
  (``was_cancelled``) are skipped and counted; tasks without a usable annotation are not training data. A CONLL2003
  export carries no annotation metadata, so only ``newest`` applies to it (any other policy is an error).
- One sentence per text: a task whose tokens equal an earlier task's is skipped and reported (``duplicate_text``),
  like the CONLL route's repeated blocks, so a sentence is never counted twice.
- Results of another control than the config's ``<Labels>``/``<Text>`` pair are skipped and reported.

Streaming (``iter_export``; ``read_export`` is ``list(iter_export(...))`` plus the report): the file is never held
whole. A first pass checks the bytes and the JSON syntax and counts the tasks (``converters.stream``), so every
error about the file as a whole comes first, with the message reading it whole gives; a second pass parses,
checks and converts one task at a time and keeps only the sentences and a 16-byte digest per distinct text. JSON_MIN
rows of one task are grouped as they come when they are adjacent (as Label Studio writes them); if the first pass
finds a task's rows apart, all rows are grouped in memory as before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from converters.align import CharSpan, align_spans
from converters.conll import ConllTally, iter_conll, looks_like_conll
from converters.conversion_report import ConversionReport, Problem
from converters.corpus import Sentence
from converters.export_models import ExportAnnotation, ExportTask, Task, text_of, validate
from converters.json_min import AdjacentRows, adjacent_tasks, group_rows
from converters.stream import JsonItems, check_file, head, load_whole, text_key
from core.errors import InputFormatError
from labeling_config import LabelConfig

FORMATS = ("auto", "conll", "json", "json-min")
POLICIES = ("newest", "last_edited", "oldest", "ground_truth")
Progress = Callable[[int, int], None]  # (done, total)


def read_export(path: Path, config: LabelConfig, *, fmt: str = "auto", policy: str = "newest", strict: bool = False,
                tolerant: bool = False, progress: Progress | None = None) -> tuple[list[Sentence], ConversionReport]:
    """Sentences (one per distinct text) and the report of what was used, skipped and repaired."""
    stream = iter_export(path, config, fmt=fmt, policy=policy, strict=strict, tolerant=tolerant, progress=progress,
                         share_tokens=True)
    sentences = list(stream)
    return sentences, stream.report


def iter_export(path: Path, config: LabelConfig, *, fmt: str = "auto", policy: str = "newest",
                strict: bool = False, tolerant: bool = False, progress: Progress | None = None,
                share_tokens: bool = False) -> ExportStream:
    """The export's sentences one task at a time, in bounded memory (see ``ExportStream``).

    ``share_tokens``: equal tokens of different sentences are one string (much less memory when the caller keeps
    the sentences, as ``read_export`` does, for a dict of the vocabulary while iterating).

    Everything ``read_export`` would raise about the file as a whole (arguments, unreadable, empty, BOM, UTF-8,
    CRLF, JSON syntax, no tasks) is raised here, before any conversion; an error in one task or line is raised
    when iteration reaches it (the first one in file order, as ``read_export`` reports it).
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise InputFormatError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", where=str(path),
                               hint="pass --format auto to detect it from the content")
    if policy not in POLICIES:
        raise InputFormatError(f"unknown policy {policy!r}; expected one of {', '.join(POLICIES)}", where=str(path),
                               hint="pass --policy newest unless you need another rule")
    scan: _JsonScan | None = None
    if fmt == "auto":
        fmt, scan = _detect(path, tolerant=tolerant)
    if fmt == "conll":
        if policy != "newest":
            raise InputFormatError(f"policy {policy!r} needs annotation dates, which a CONLL2003 export does not "
                                   "carry (its first block per task is the newest annotation)", where=str(path),
                                   hint="export JSON or JSON_MIN for this policy, or use --policy newest")
        tally = ConllTally()
        blocks = iter_conll(path, config, strict=strict, tolerant=tolerant, progress=progress, tally=tally,
                            share_tokens=share_tokens)
        return ExportStream(str(path), "conll", blocks, conll=tally)
    if scan is None:
        check_file(path, tolerant=tolerant)
        scan = _scan_json(path, fmt, tolerant=tolerant)
    items = JsonItems(path, tolerant=tolerant)
    if fmt == "json":
        tasks, total = _tasks_from_json(path, iter(items), config), scan.items
    elif scan.groups is not None:  # the rows of each task are adjacent (as Label Studio writes them)
        tasks, total = adjacent_tasks(path, iter(items), config), scan.groups
    else:  # rows of one task apart: group them all in memory, as before
        grouped = group_rows(path, list(items), config)
        tasks, total = iter(grouped), len(grouped)
    tally = _Tally()
    sentences = _convert_tasks(tasks, total, config, policy, progress, tally, {} if share_tokens else None)
    return ExportStream(str(path), fmt, sentences, json=tally)


def read_export_tasks(path: Path, config: LabelConfig, *, tolerant: bool = False,
                      ) -> tuple[str, Iterator[tuple[Any, str, list[ExportAnnotation]]]]:
    """The format and the tasks of a JSON or JSON_MIN export as (task id, text, every annotation), streamed, for
    readers that need all annotations of a task (agreement) or who made them (the label-error finder)."""
    path = Path(path)
    fmt, scan = _detect(path, tolerant=tolerant)
    if fmt == "conll":
        raise InputFormatError("a CONLL2003 export carries no task ids, annotation ids or annotators",
                               where=str(path), hint="export JSON (or JSON_MIN) from Label Studio")
    assert scan is not None
    items = JsonItems(path, tolerant=tolerant)
    if fmt == "json":
        return fmt, _tasks_from_json(path, iter(items), config)
    if scan.groups is not None:
        return fmt, adjacent_tasks(path, iter(items), config)
    return fmt, iter(group_rows(path, list(items), config))


def detect_format(path: Path, *, tolerant: bool = False) -> str:
    """``conll``, ``json`` or ``json-min`` from the file's content."""
    return _detect(Path(path), tolerant=tolerant)[0]


class ExportStream:
    """Sentences of an export as they are converted (iterate once); ``report`` counts what was read so far and
    is the full ``ConversionReport`` once iteration ends. ``format`` is ``conll``, ``json`` or ``json-min``."""

    def __init__(self, source: str, fmt: str, sentences: Iterator[Sentence], *, json: _Tally | None = None,
                 conll: ConllTally | None = None) -> None:
        self.source, self.format = source, fmt
        self._sentences, self._json, self._conll = sentences, json, conll

    def __iter__(self) -> Iterator[Sentence]:
        return self._sentences

    @property
    def report(self) -> ConversionReport:
        if self._conll is not None:
            blocks, kept = self._conll.blocks, self._conll.sentences
            skipped = {"duplicate text": blocks - kept} if blocks > kept else {}
            return ConversionReport(self.source, "conll", tasks_read=blocks, annotations_used=kept,
                                    annotations_skipped=skipped, sentences=kept,
                                    problems=tuple(self._conll.problems))
        t = self._json
        assert t is not None
        return ConversionReport(self.source, self.format, tasks_read=t.tasks, tasks_without_annotations=t.without,
                                annotations_used=t.used, annotations_skipped={k: v for k, v in t.skipped.items() if v},
                                sentences=t.sentences, problems=tuple(t.problems))


@dataclass(frozen=True)
class _JsonScan:
    first: Any  # the first item
    items: int
    groups: int | None  # JSON_MIN: tasks when each task's rows are adjacent, else None


def _detect(path: Path, *, tolerant: bool) -> tuple[str, _JsonScan | None]:
    check_file(path, tolerant=tolerant)
    start = head(path, tolerant=tolerant).lstrip()
    if start.startswith(("[", "{")):
        scan = _scan_json(path, "auto", tolerant=tolerant)
        return _json_kind(scan.first), scan
    if looks_like_conll(start):
        return "conll", None
    raise InputFormatError("cannot tell the export format: not a JSON list and not 'token -X- _ TAG' lines",
                           where=str(path),
                           hint="export JSON, JSON_MIN or CONLL2003 from Label Studio, or pass --format")


def _json_kind(first: Any) -> str:
    return "json" if isinstance(first, dict) and "data" in first else "json-min"


def _scan_json(path: Path, fmt: str, *, tolerant: bool) -> _JsonScan:
    """The first pass over a JSON export: its syntax (every error ``json.loads`` would raise), the number of
    items and, for JSON_MIN, whether each task's rows are adjacent (then they can be grouped as they come)."""
    items = JsonItems(path, tolerant=tolerant)
    if not items.is_list:
        whole = load_whole(path, tolerant=tolerant)  # raises the syntax error, if any
        raise InputFormatError(f"the JSON top level is {type(whole).__name__}; expected a list of tasks",
                               where=str(path), hint="export JSON or JSON_MIN from Label Studio")
    first, count, rows = None, 0, AdjacentRows()
    for index, item in enumerate(items):
        if index == 0:
            first = item
            fmt = _json_kind(item) if fmt == "auto" else fmt
        count += 1
        if fmt == "json-min":
            rows.add(item)
    if not count:
        raise InputFormatError("the export holds no tasks", where=str(path),
                               hint="import and annotate tasks in Label Studio, then export again")
    return _JsonScan(first, count, rows.tasks if fmt == "json-min" else None)


def _spans(annotation: ExportAnnotation, config: LabelConfig, task: Any, problems: list[Problem]) -> list[CharSpan]:
    spans: list[CharSpan] = []
    for i, result in enumerate(annotation.result):
        if (result.from_name, result.to_name, result.type) != (config.from_name, config.to_name, "labels"):
            problems.append(Problem("other_control", f"from_name={result.from_name!r} to_name={result.to_name!r} "
                                    f"type={result.type!r}; the config's pair is {config.from_name!r} -> "
                                    f"{config.to_name!r}", task=task, annotation=annotation.id, field=f"result[{i}]"))
            continue
        value = result.value
        labels = value.get("labels")
        spans.append(CharSpan(value.get("start"), value.get("end"), tuple(labels) if isinstance(labels, list) else (),
                              value.get("text"), f"result[{i}]"))
    return spans


def _tasks_from_json(path: Path, items: Iterator[Any], config: LabelConfig) -> Iterator[Task]:
    for index, item in enumerate(items):
        task = validate(ExportTask, item, path, index)
        yield task.id, text_of(task.data, config, path, task.id, "data."), task.annotations


def choose_annotation(annotations: list[ExportAnnotation], policy: str) -> ExportAnnotation | None:
    """The annotation a task contributes under ``policy`` (cancelled ones never), or None."""
    usable = [a for a in annotations if not a.was_cancelled]
    if not usable:
        return None

    def created(a: ExportAnnotation) -> str:
        return a.created_at or ""

    def edited(a: ExportAnnotation) -> tuple[str, str]:
        return (a.updated_at or a.created_at or "", a.created_at or "")

    # max() keeps the first of equal keys, as Label Studio's stable newest-first sort does.
    if policy == "oldest":
        return min(usable, key=created)
    if policy == "last_edited":
        return max(usable, key=edited)
    if policy == "ground_truth":
        return max(usable, key=lambda a: (a.ground_truth, created(a)))
    return max(usable, key=created)


@dataclass
class _Tally:
    tasks: int = 0
    without: int = 0
    used: int = 0
    sentences: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)


def _convert_tasks(tasks: Iterator[Task], total: int, config: LabelConfig, policy: str, progress: Progress | None,
                   tally: _Tally, vocabulary: dict[str, str] | None) -> Iterator[Sentence]:
    problems, skipped = tally.problems, tally.skipped
    seen: dict[bytes, Any] = {}  # text_key(tokens) -> id of the task kept
    tags_seen: dict[str, str] = {}  # one string per tag, shared by all sentences
    for done, (task_id, text, task_annotations) in enumerate(tasks, start=1):
        tally.tasks = done
        if progress:
            progress(done, total)
        skipped["cancelled"] += sum(a.was_cancelled for a in task_annotations)
        chosen = choose_annotation(task_annotations, policy)
        if chosen is None:
            tally.without += 1
            continue
        skipped[f"not chosen ({policy})"] += sum(not a.was_cancelled for a in task_annotations) - 1
        found: list[Problem] = []
        spans = _spans(chosen, config, task_id, found)
        aligned = align_spans(text, spans, config.labels, task=task_id, annotation=chosen.id)
        tokens = tuple(tok.text for tok in aligned.tokens)
        if not tokens:
            skipped["empty text"] += 1
            problems.append(Problem("empty_text", f"the text {text!r} has no tokens", task=task_id,
                                    annotation=chosen.id, field=f"data.{config.data_key}"))
            continue
        key = text_key(tokens)
        if key in seen:
            skipped["duplicate text"] += 1
            problems.append(Problem("duplicate_text", f"{text[:60]!r} is the text of task {seen[key]}",
                                    task=task_id, annotation=chosen.id, field=f"data.{config.data_key}"))
            continue
        seen[key] = task_id
        tally.used += 1
        tally.sentences += 1
        problems.extend(found)
        problems.extend(aligned.problems)
        if vocabulary is not None:
            tokens = tuple(vocabulary.setdefault(token, token) for token in tokens)
        yield Sentence(tokens, tuple(tags_seen.setdefault(tag, tag) for tag in aligned.tags), f"task {task_id}")
