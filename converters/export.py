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
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from converters.align import CharSpan, align_spans
from converters.conll import looks_like_conll, read_conll
from converters.corpus import Sentence, read_text
from converters.export_models import ExportAnnotation, ExportTask, MinRow
from converters.report import ConversionReport, Problem
from labeling_config import LabelConfig
from labeling_config.errors import InputFormatError, where

FORMATS = ("auto", "conll", "json", "json-min")
POLICIES = ("newest", "last_edited", "oldest", "ground_truth")
Progress = Callable[[int, int], None]  # (done, total)


def read_export(path: Path, config: LabelConfig, *, fmt: str = "auto", policy: str = "newest", strict: bool = False,
                tolerant: bool = False, progress: Progress | None = None) -> tuple[list[Sentence], ConversionReport]:
    """Sentences (one per distinct text) and the report of what was used, skipped and repaired."""
    path = Path(path)
    if fmt not in FORMATS:
        raise InputFormatError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", where=str(path),
                               hint="pass --format auto to detect it from the content")
    if policy not in POLICIES:
        raise InputFormatError(f"unknown policy {policy!r}; expected one of {', '.join(POLICIES)}", where=str(path),
                               hint="pass --policy newest unless you need another rule")
    items: list[Any] | None = None
    if fmt == "auto":
        fmt, items = _detect(path, tolerant=tolerant)
    if fmt == "conll":
        if policy != "newest":
            raise InputFormatError(f"policy {policy!r} needs annotation dates, which a CONLL2003 export does not "
                                   "carry (its first block per task is the newest annotation)", where=str(path),
                                   hint="export JSON or JSON_MIN for this policy, or use --policy newest")
        sentences, problems, blocks = read_conll(path, config, strict=strict, tolerant=tolerant, progress=progress)
        skipped = {"duplicate text": blocks - len(sentences)} if blocks > len(sentences) else {}
        report = ConversionReport(str(path), "conll", tasks_read=blocks, annotations_used=len(sentences),
                                  annotations_skipped=skipped, sentences=len(sentences), problems=tuple(problems))
        return sentences, report
    items = _load_json(path, tolerant=tolerant) if items is None else items
    tasks = _tasks_from_json(path, items, config) if fmt == "json" else _tasks_from_min(path, items, config)
    return _convert_tasks(str(path), fmt, tasks, config, policy, progress)


def read_export_tasks(path: Path, config: LabelConfig, *, tolerant: bool = False,
                      ) -> tuple[str, list[tuple[Any, str, list[ExportAnnotation]]]]:
    """The format and the tasks of a JSON or JSON_MIN export as (task id, text, every annotation), for readers
    that need all annotations of a task (agreement) or who made them (the label-error finder)."""
    path = Path(path)
    fmt, items = _detect(path, tolerant=tolerant)
    if fmt == "conll":
        raise InputFormatError("a CONLL2003 export carries no task ids, annotation ids or annotators",
                               where=str(path), hint="export JSON (or JSON_MIN) from Label Studio")
    assert items is not None
    tasks = _tasks_from_json(path, items, config) if fmt == "json" else _tasks_from_min(path, items, config)
    return fmt, tasks


def detect_format(path: Path, *, tolerant: bool = False) -> str:
    """``conll``, ``json`` or ``json-min`` from the file's content."""
    return _detect(path, tolerant=tolerant)[0]


def _detect(path: Path, *, tolerant: bool) -> tuple[str, list[Any] | None]:
    text = read_text(path, tolerant=tolerant)
    head = text[:4096].lstrip()
    if head.startswith(("[", "{")):
        items = _load_json(path, tolerant=tolerant, text=text)
        first = items[0] if items else None
        return ("json" if isinstance(first, dict) and "data" in first else "json-min"), items
    if looks_like_conll(head):
        return "conll", None
    raise InputFormatError("cannot tell the export format: not a JSON list and not 'token -X- _ TAG' lines",
                           where=str(path),
                           hint="export JSON, JSON_MIN or CONLL2003 from Label Studio, or pass --format")


def _load_json(path: Path, *, tolerant: bool, text: str | None = None) -> list[Any]:
    text = read_text(path, tolerant=tolerant) if text is None else text
    try:
        items = json.loads(text)  # CRLF is JSON whitespace: harmless here
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"not valid JSON ({exc.msg}, column {exc.colno})", where=f"{path}:{exc.lineno}",
                               hint="export the project again; do not edit the file by hand") from exc
    if not isinstance(items, list):
        raise InputFormatError(f"the JSON top level is {type(items).__name__}; expected a list of tasks",
                               where=str(path), hint="export JSON or JSON_MIN from Label Studio")
    if not items:
        raise InputFormatError("the export holds no tasks", where=str(path),
                               hint="import and annotate tasks in Label Studio, then export again")
    return items


def _validate(model: type[BaseModel], item: Any, path: Path, index: int) -> Any:
    task = item.get("id", f"#{index}") if isinstance(item, dict) else f"#{index}"
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        raise InputFormatError(f"{err['msg']}", where=where(path, task=task, field=field),
                               hint="export the project again from Label Studio") from exc


def _text_of(data: dict[str, Any], config: LabelConfig, path: Path, task: Any, prefix: str) -> str:
    field = f"{prefix}{config.data_key}"
    if config.data_key not in data:
        raise InputFormatError(f"no {config.data_key!r} key (found: {', '.join(map(str, data)) or 'none'})",
                               where=where(path, task=task, field=field),
                               hint="pass the --config of the project that made this export")
    text = data[config.data_key]
    if not isinstance(text, str):
        raise InputFormatError(f"the text is {type(text).__name__}, not a string", where=where(path, task=task,
                               field=field), hint="import tasks whose text is a string")
    return text


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


def _tasks_from_json(path: Path, items: list[Any], config: LabelConfig) -> list[tuple[Any, str, list[Any]]]:
    tasks = []
    for index, item in enumerate(items):
        task = _validate(ExportTask, item, path, index)
        tasks.append((task.id, _text_of(task.data, config, path, task.id, "data."), task.annotations))
    return tasks


def _tasks_from_min(path: Path, items: list[Any], config: LabelConfig) -> list[tuple[Any, str, list[Any]]]:
    """Group JSON_MIN rows (one per annotation) back into tasks with ``ExportAnnotation``s."""
    by_task: dict[Any, tuple[Any, str, list[Any]]] = {}
    for index, item in enumerate(items):
        row = _validate(MinRow, item, path, index)
        extra = row.model_extra or {}
        text = _text_of(extra, config, path, row.id, "")
        key = row.id if row.id is not None else f"#{index}"
        entry = by_task.setdefault(key, (row.id, text, []))
        if row.annotation_id is None and config.from_name not in extra:
            continue
        regions = extra.get(config.from_name, [])
        if not isinstance(regions, list):
            raise InputFormatError(f"expected a list of regions, found {type(regions).__name__}",
                                   where=where(path, task=row.id, field=config.from_name),
                                   hint="export JSON_MIN again, or use the JSON export")
        result = [{"from_name": config.from_name, "to_name": config.to_name, "type": "labels", "value": region}
                  for region in regions]
        result += [{"from_name": name, "type": "labels" if "labels" in region else "", "value": region}
                   for name, value in extra.items() if name not in (config.from_name, config.data_key)
                   and isinstance(value, list) for region in value if isinstance(region, dict) and "start" in region]
        entry[2].append(_validate(ExportAnnotation, {"id": row.annotation_id, "completed_by": row.annotator,
                                                     "created_at": row.created_at,
                                                     "updated_at": row.updated_at, "result": result}, path, index))
    return list(by_task.values())


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


def _convert_tasks(source: str, fmt: str, tasks: list[tuple[Any, str, list[Any]]], config: LabelConfig,
                   policy: str, progress: Progress | None) -> tuple[list[Sentence], ConversionReport]:
    sentences: list[Sentence] = []
    problems: list[Problem] = []
    skipped: Counter[str] = Counter()
    seen: dict[tuple[str, ...], Any] = {}
    without, used = 0, 0
    for done, (task_id, text, task_annotations) in enumerate(tasks, start=1):
        if progress:
            progress(done, len(tasks))
        skipped["cancelled"] += sum(a.was_cancelled for a in task_annotations)
        chosen = choose_annotation(task_annotations, policy)
        if chosen is None:
            without += 1
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
        if tokens in seen:
            skipped["duplicate text"] += 1
            problems.append(Problem("duplicate_text", f"{text[:60]!r} is the text of task {seen[tokens]}",
                                    task=task_id, annotation=chosen.id, field=f"data.{config.data_key}"))
            continue
        seen[tokens] = task_id
        used += 1
        problems.extend(found)
        problems.extend(aligned.problems)
        sentences.append(Sentence(tokens, aligned.tags, f"task {task_id}"))
    report = ConversionReport(source, fmt, tasks_read=len(tasks), tasks_without_annotations=without,
                              annotations_used=used, annotations_skipped={k: v for k, v in skipped.items() if v},
                              sentences=len(sentences), problems=tuple(problems))
    return sentences, report
