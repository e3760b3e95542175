"""Pydantic models of Label Studio 1.23.2 exports (JSON and JSON_MIN): the boundary where export files are checked.

Only the fields nerloop reads are declared; everything else Label Studio writes is ignored. ``data`` and the span
``value`` stay plain dicts here because their keys depend on the labeling config; ``converters.export`` checks
them against the ``LabelConfig`` and reports what it cannot use. ``validate`` and ``text_of`` raise the errors
that name the task and field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import InputFormatError, where
from labeling_config import LabelConfig


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ExportResult(_Model):
    """One region of an annotation: ``{"from_name", "to_name", "type", "value": {...}}``."""

    from_name: str = ""
    to_name: str = ""
    type: str = ""
    value: dict[str, Any] = Field(default_factory=dict)


class ExportAnnotation(_Model):
    id: int | None = None
    completed_by: int | str | dict[str, Any] | None = None  # an id, an email, or a user
    was_cancelled: bool = False
    ground_truth: bool = False
    created_at: str | None = None
    updated_at: str | None = None
    result: list[ExportResult] = Field(default_factory=list)


class ExportTask(_Model):
    """A task of the JSON export: ``{"id", "data": {...}, "annotations": [...]}``."""

    id: int | None = None
    data: dict[str, Any]
    annotations: list[ExportAnnotation] = Field(default_factory=list)


class MinSpan(_Model):
    """A region of the JSON_MIN export (under the key named after the Labels control)."""

    start: int | None = None
    end: int | None = None
    text: str | None = None
    labels: list[str] = Field(default_factory=list)


class MinRow(_Model):
    """A row of JSON_MIN: one per submitted annotation (cancelled ones are left out by Label Studio), or one with
    ``annotation_id: null`` for a task without annotations. Data keys and control keys sit at the top level."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: int | None = None
    annotation_id: int | None = None
    annotator: int | str | None = None
    created_at: str | None = None
    updated_at: str | None = None


Task = tuple[Any, str, list[ExportAnnotation]]  # (task id, text, annotations): what the converter takes


def validate(model: type[BaseModel], item: Any, path: Path, index: int) -> Any:
    """``item`` (the ``index``-th of the file) as ``model``, or an error naming the task and the field."""
    task = item.get("id", f"#{index}") if isinstance(item, dict) else f"#{index}"
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        raise InputFormatError(f"{err['msg']}", where=where(path, task=task, field=field),
                               hint="export the project again from Label Studio") from exc


def text_of(data: dict[str, Any], config: LabelConfig, path: Path, task: Any, prefix: str) -> str:
    """The task's text under the config's data key, or an error naming the task and the field."""
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
