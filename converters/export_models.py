"""Pydantic models of Label Studio 1.23.2 exports (JSON and JSON_MIN): the boundary where export files are checked.

Only the fields nerloop reads are declared; everything else Label Studio writes is ignored. ``data`` and the span
``value`` stay plain dicts here because their keys depend on the labeling config; ``converters.export`` checks
them against the ``LabelConfig`` and reports what it cannot use.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
