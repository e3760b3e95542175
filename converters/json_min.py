"""JSON_MIN rows (one per annotation) back into tasks: as they come when each task's rows are adjacent, as
Label Studio writes them, or all in memory when they are not (``AdjacentRows`` tells, in the first pass)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from converters.export_models import ExportAnnotation, MinRow, Task, text_of, validate
from core.errors import InputFormatError, where
from labeling_config import LabelConfig

_NO_ROW = object()


class AdjacentRows:
    """Counts tasks over raw rows while every task's rows are adjacent; ``tasks`` is None once they are not
    (or once an id is not a plain int, which pydantic might coerce into another row's id)."""

    def __init__(self) -> None:
        self.tasks: int | None = 0
        self._finished: set[int] = set()
        self._current: Any = _NO_ROW

    def add(self, item: Any) -> None:
        if self.tasks is None:
            return
        raw = item.get("id") if isinstance(item, dict) else None
        if raw is not None and (type(raw) is not int or (raw != self._current and raw in self._finished)):
            self.tasks = None
            self._finished.clear()
            return
        if raw is None or raw != self._current:  # a row without id is a task of its own
            if isinstance(self._current, int):
                self._finished.add(self._current)
            self._current = raw
            self.tasks += 1


def min_row(path: Path, index: int, item: Any, config: LabelConfig) -> tuple[Any, Any, str,
                                                                             ExportAnnotation | None]:
    """A JSON_MIN row as (grouping key, task id, text, its annotation or None)."""
    row = validate(MinRow, item, path, index)
    extra = row.model_extra or {}
    text = text_of(extra, config, path, row.id, "")
    key = row.id if row.id is not None else f"#{index}"
    if row.annotation_id is None and config.from_name not in extra:
        return key, row.id, text, None
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
    annotation = validate(ExportAnnotation, {"id": row.annotation_id, "completed_by": row.annotator,
                                             "created_at": row.created_at,
                                             "updated_at": row.updated_at, "result": result}, path, index)
    return key, row.id, text, annotation


def adjacent_tasks(path: Path, items: Iterator[Any], config: LabelConfig) -> Iterator[Task]:
    """Group adjacent JSON_MIN rows (one per annotation) back into tasks with ``ExportAnnotation``s."""
    key, entry = _NO_ROW, None
    for index, item in enumerate(items):
        row_key, task_id, text, annotation = min_row(path, index, item, config)
        if row_key != key or entry is None:
            if entry is not None:
                yield entry
            key, entry = row_key, (task_id, text, [])
        if annotation is not None:
            entry[2].append(annotation)
    if entry is not None:
        yield entry


def group_rows(path: Path, items: list[Any], config: LabelConfig) -> list[Task]:
    """Group all JSON_MIN rows by task, wherever they are in the file (holds every task in memory)."""
    by_task: dict[Any, Task] = {}
    for index, item in enumerate(items):
        key, task_id, text, annotation = min_row(path, index, item, config)
        entry = by_task.setdefault(key, (task_id, text, []))
        if annotation is not None:
            entry[2].append(annotation)
    return list(by_task.values())
