"""Pre-annotating a whole project: page through its tasks, predict them locally, store the predictions in chunks.

Label Studio's *Retrieve predictions* action sends every selected task to ``/predict`` in one request with a 100 s
timeout, so it fails on large projects. Here the tasks are read page by page (``GET /api/tasks``), predicted with
the same code that serves ``/predict`` (``NerBackend.predict``), ``batch`` tasks a call, and stored with Label
Studio's bulk import (``POST /api/projects/{id}/import/predictions``) ``chunk`` predictions a request, one request in
flight while the next tasks are predicted. A task that already has a prediction of this model_version is skipped, so
a second run adds nothing and an interrupted run continues where it stopped.

What a request costs Label Studio 1.23 (SQLite, 20,000 tasks, measured with ``bench/scale.py predict``'s project):
by default it recounts the annotations and predictions of *every* task of the project after each import (about
0.9 s at 20,000 tasks, growing with the project) on top of about 0.8 ms a prediction; with its feature flag
``fflag_fix_back_4620_memory_efficient_predictions_import_08012025_short`` on, only the imported tasks are
recounted. nerloop's own Label Studio (``nerloop up``) runs with the flag; for any other server the chunk grows
with the project (``store_chunk``) so the recounts stay a bounded number per pass.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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


@dataclass(frozen=True)
class _Task:
    id: int
    data: dict[str, Any]
    total_annotations: int
    predictions: list[dict[str, Any]]


def _tasks(client: LabelStudio, project_id: int, view: int | None, page_size: int, version: str) -> Iterator[_Task]:
    """The project's (or view's) tasks with their predictions of ``version``.

    ``fields=all`` makes Label Studio serialize every annotation, prediction and Data Manager column of every task
    (about 4 ms a task on SQLite, more than predicting it); a whole project is read as ``task_only`` with three
    fields instead, after one filtered pass for the ids that already have a prediction of ``version``. A view's own
    filters replace a request's query in Label Studio, so a view is still read with ``fields=all``.
    """
    if view is not None:
        for task in client.tasks.list(project=project_id, view=view, fields="all", page_size=page_size):
            yield _Task(int(task.id), dict(task.data or {}), int(task.total_annotations or 0),
                        [_as_dict(p) for p in task.predictions or []])
        return
    done = predicted_ids(client, project_id, version, page_size)
    for task in client.tasks.list(project=project_id, fields="task_only", include="id,data,total_annotations",
                                  page_size=page_size):
        ident = int(task.id)
        yield _Task(ident, dict(task.data or {}), int(task.total_annotations or 0),
                    [{"model_version": version}] if ident in done else [])


def predicted_ids(client: LabelStudio, project_id: int, version: str, page_size: int = 1000) -> set[int]:
    """Ids of the project's tasks with a prediction of exactly ``version``.

    Label Studio's filter matches a substring, case-insensitively, and lists the versions comma-joined, cut at 500
    characters; so each hit is checked against the list, and a task whose list was cut is read whole."""
    query = json.dumps({"filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:predictions_model_versions", "operator": "contains", "type": "List",
         "value": [version]}]}})
    done: set[int] = set()
    for task in client.tasks.list(project=project_id, fields="task_only", include="id,predictions_model_versions",
                                  query=query, page_size=page_size):
        listed = str(getattr(task, "predictions_model_versions", "") or "")
        exact = version in {v.strip() for v in listed.split(",")}
        if not exact and len(listed) >= 500:
            exact = any(_as_dict(p).get("model_version") == version
                        for p in client.tasks.get(id=int(task.id)).predictions or [])
        if exact:
            done.add(int(task.id))
    return done


def store_chunk(total: int | None) -> int:
    """Predictions per import request for a project of ``total`` tasks (``None``: not known, e.g. a view).

    A sixteenth of the project, between 256 and 4,096: on a Label Studio that recounts every task after each import
    a whole pass costs at most about sixteen recounts, and a request stays a few MB."""
    if total is None:
        return 1024
    return max(256, min(4096, total // 16))


def needs_prediction(task: _Task, version: str, *, unlabeled_only: bool, chosen: set[int] | None) -> bool:
    """Whether ``task`` should get a prediction of ``version`` now."""
    if chosen is not None and int(task.id) not in chosen:
        return False
    if unlabeled_only and task.total_annotations > 0:
        return False
    return not any(p.get("model_version") == version for p in task.predictions)


def predict_project(client: LabelStudio, project_id: int, predict: Predict, version: str, *,
                    unlabeled_only: bool = False, view: int | None = None, task_ids: Sequence[int] | None = None,
                    chunk: int | None = None, batch: int = 256, page_size: int = 1000,
                    progress: Progress | None = None, stop: threading.Event | None = None) -> BulkOutcome:
    """Give every chosen task of the project one prediction of ``version``; returns what was done.

    ``batch`` tasks go to ``predict`` at a time, ``chunk`` predictions (default: ``store_chunk`` of the project's
    size) to Label Studio a request."""
    began = time.perf_counter()
    total = int(client.projects.get(id=project_id).task_number or 0) if view is None else 0
    chunk = chunk or store_chunk(total if view is None else None)
    batch = min(batch, chunk)
    chosen = {int(i) for i in task_ids} if task_ids is not None else None
    predicted = skipped = 0
    todo: list[_Task] = []  # chosen, not predicted yet
    ready: list[dict[str, Any]] = []  # predicted, not sent yet
    # One request is stored while the next tasks are read and predicted (never more than one in flight, so a
    # stopped or failed run loses at most one chunk).
    storing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-predictions")
    pending: list[Future] = []

    def wait_stored() -> None:
        while pending:
            pending.pop().result()

    def store() -> None:
        nonlocal predicted
        if ready:
            wait_stored()
            pending.append(storing.submit(client.projects.import_predictions, id=project_id, request=list(ready)))
            predicted += len(ready)
            ready.clear()

    def predict_todo() -> None:
        if todo:
            results = predict([{"id": t.id, "data": t.data} for t in todo])
            ready.extend({"task": t.id, "result": r["result"], "score": r["score"],
                          "model_version": r["model_version"]} for t, r in zip(todo, results, strict=True))
            todo.clear()
        if len(ready) >= chunk:
            store()

    try:
        for seen, task in enumerate(_tasks(client, project_id, view, page_size, version), start=1):
            if stop is not None and stop.is_set():
                predict_todo()
                store()
                wait_stored()
                return BulkOutcome(predicted, skipped, time.perf_counter() - began, stopped=True)
            if needs_prediction(task, version, unlabeled_only=unlabeled_only, chosen=chosen):
                todo.append(task)
                if len(todo) >= batch:
                    predict_todo()
            else:
                skipped += 1
            if progress is not None:
                progress(seen, max(total, seen))
        predict_todo()
        store()
        wait_stored()
    finally:
        storing.shutdown(wait=True)
    outcome = BulkOutcome(predicted, skipped, time.perf_counter() - began)
    log.info("project %s: %d task(s) predicted with %s, %d skipped, in %.1f s", project_id, predicted, version,
             skipped, outcome.seconds)
    return outcome
