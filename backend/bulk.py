"""Pre-annotating a whole project: page through its tasks, predict them locally, store the predictions in chunks.

Label Studio's *Retrieve predictions* action sends every selected task to ``/predict`` in one request with a 100 s
timeout, so it fails on large projects. Here the tasks are read page by page (``GET /api/tasks``), predicted with
the same code that serves ``/predict`` (``NerBackend.predict``), and stored with Label Studio's bulk import
(``POST /api/projects/{id}/import/predictions``) one chunk at a time. A task that already has a prediction of this
model_version is skipped, so a second run adds nothing and an interrupted run continues where it stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from label_studio_sdk import LabelStudio

log = logging.getLogger(__name__)

Predict = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
Progress = Callable[[int, int], None]  # (tasks done, tasks in the project or view)


@dataclass(frozen=True)
class BulkOutcome:
    predicted: int  # tasks that got a new prediction
    skipped: int  # tasks left alone: already predicted by this version, annotated (with unlabeled_only), not chosen
    seconds: float
    stopped: bool = False  # the stop event was set before the end


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else value.dict()


def _tasks(client: LabelStudio, project_id: int, view: int | None, page_size: int) -> Iterator[Any]:
    query: dict[str, Any] = {"project": project_id, "fields": "all", "page_size": page_size}
    if view is not None:
        query["view"] = view
    yield from client.tasks.list(**query)


def needs_prediction(task: Any, version: str, *, unlabeled_only: bool, chosen: set[int] | None) -> bool:
    """Whether ``task`` should get a prediction of ``version`` now."""
    if chosen is not None and int(task.id) not in chosen:
        return False
    if unlabeled_only and (task.total_annotations or 0) > 0:
        return False
    return not any(_as_dict(p).get("model_version") == version for p in task.predictions or [])


def predict_project(client: LabelStudio, project_id: int, predict: Predict, version: str, *,
                    unlabeled_only: bool = False, view: int | None = None, task_ids: Sequence[int] | None = None,
                    chunk: int = 256, page_size: int = 1000, progress: Progress | None = None,
                    stop: threading.Event | None = None) -> BulkOutcome:
    """Give every chosen task of the project one prediction of ``version``; returns what was done."""
    began = time.perf_counter()
    total = int(client.projects.get(id=project_id).task_number or 0) if view is None else 0
    chosen = {int(i) for i in task_ids} if task_ids is not None else None
    predicted = skipped = 0
    batch: list[Any] = []

    def flush() -> None:
        nonlocal predicted
        if not batch:
            return
        results = predict([{"id": int(t.id), "data": dict(t.data or {})} for t in batch])
        client.projects.import_predictions(id=project_id, request=[
            {"task": int(t.id), "result": r["result"], "score": r["score"], "model_version": r["model_version"]}
            for t, r in zip(batch, results, strict=True)])
        predicted += len(batch)
        batch.clear()

    for seen, task in enumerate(_tasks(client, project_id, view, page_size), start=1):
        if stop is not None and stop.is_set():
            flush()
            return BulkOutcome(predicted, skipped, time.perf_counter() - began, stopped=True)
        if needs_prediction(task, version, unlabeled_only=unlabeled_only, chosen=chosen):
            batch.append(task)
            if len(batch) >= chunk:
                flush()
        else:
            skipped += 1
        if progress is not None:
            progress(seen, max(total, seen))
    flush()
    outcome = BulkOutcome(predicted, skipped, time.perf_counter() - began)
    log.info("project %s: %d task(s) predicted with %s, %d skipped, in %.1f s", project_id, predicted, version,
             skipped, outcome.seconds)
    return outcome
