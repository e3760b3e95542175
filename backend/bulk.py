"""Pre-annotating a whole project: page through its tasks, predict them locally, store the predictions in chunks.

Label Studio's *Retrieve predictions* action sends every selected task to ``/predict`` in one request with a 100 s
timeout, so it fails on large projects. Here the tasks are read page by page (``GET /api/tasks``, only those
without a prediction of this model_version, pages ahead), predicted with the same code that serves ``/predict``
(``NerBackend.predict``), ``batch`` tasks a call, and stored with Label Studio's bulk import
(``POST /api/projects/{id}/import/predictions``) ``chunk`` predictions a request, one request in flight
while the next tasks are predicted. A task that already has a prediction of this model_version is skipped, so a
second run adds nothing and an interrupted run continues where it stopped.

What a request costs Label Studio 1.23 (SQLite, a 20,000-task project, measured on a busy 2-core machine):
by default it recounts the annotations and predictions of *every* task of the project after each import (about
0.9 s at 20,000 tasks, growing with the project) on top of about 0.8 ms a prediction; with its feature flag
``fflag_fix_back_4620_memory_efficient_predictions_import_08012025_short`` on, only the imported tasks are
recounted. nerloop's own Label Studio (``nerloop up``) runs with the flag; for any other server the chunk grows
with the project (``store_chunk``) so the recounts stay a bounded number per pass.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

log = logging.getLogger(__name__)

Predict = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
Progress = Callable[[int, int], None]  # (tasks done, tasks in the project or view)
StudioBusy = Callable[[], AbstractContextManager[Any]]  # held around each request to Label Studio
T = TypeVar("T")
# Pages of tasks read ahead of the model: while a cold model loads (about 4 s on 2 cores) Label Studio serves about
# that many pages of 1,000 on the other core, work that would otherwise compete with predicting.
READ_AHEAD_PAGES = 8


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


def _tasks(client: LabelStudio, project_id: int, view: int | None, page_size: int, version: str,
           busy: StudioBusy = contextlib.nullcontext) -> Iterator[_Task]:
    """The project's (or view's) tasks that may need a prediction of ``version``, with their predictions of it.

    ``fields=all`` makes Label Studio serialize every annotation, prediction and Data Manager column of every task
    (about 4 ms a task on SQLite, more than predicting it), and even a ``task_only`` page costs it about 0.5 ms a
    task. So a whole project is read as ``task_only`` with three fields, and only its tasks without a prediction
    whose model_version contains ``version`` (a Data Manager filter, ``not_contains``): a rerun reads one empty
    page. That filter matches substrings, so when another of the project's model versions contains ``version``
    (``round-0001`` in ``round-0001-old``) the tasks that do contain it are read too and checked exactly. A view's
    own filters replace a request's query in Label Studio, so a view is read whole with ``fields=all``.
    """
    if view is not None:
        for task in client.tasks.list(project=project_id, view=view, fields="all", page_size=page_size):
            yield _Task(int(task.id), dict(task.data or {}), int(task.total_annotations or 0),
                        [_as_dict(p) for p in task.predictions or []])
        return
    for task in _pages(client, project_id, "id,data,total_annotations", "not_contains", version, page_size, busy):
        yield _Task(int(task["id"]), dict(task.get("data") or {}), int(task.get("total_annotations") or 0), [])
    versions = _model_versions(client, project_id)
    if versions is not None and not any(version.lower() in v.lower() and v != version for v in versions):
        return
    for task in _pages(client, project_id, "id,data,total_annotations,predictions_model_versions", "contains",
                       version, page_size, busy):
        if not _has_version(client, task, version):
            yield _Task(int(task["id"]), dict(task.get("data") or {}), int(task.get("total_annotations") or 0), [])


def _call(client: LabelStudio, path: str, method: str, *, params: dict[str, Any] | None = None,
          body: bytes | None = None) -> Any:
    """One request through the SDK's HTTP client (its base URL, key and retries), the JSON done by ``json``.

    The SDK encodes a request body with pydantic (160 ms for 1,250 predictions, against 18 ms for ``json.dumps``)
    and decodes a page of tasks into models (24 ms against 2 ms a page), all of it holding this process's GIL
    while the model predicts. A reply that is not 2xx raises the SDK's ``ApiError``, as its own calls do."""
    reply = client._client_wrapper.httpx_client.request(
        path, method=method, params=params, content=body,
        headers={"Content-Type": "application/json"} if body is not None else None)
    if not 200 <= reply.status_code < 300:
        try:
            detail: Any = reply.json()
        except ValueError:
            detail = reply.text
        raise ApiError(status_code=reply.status_code, headers=dict(reply.headers), body=detail)
    return reply.json()


def _pages(client: LabelStudio, project_id: int, include: str, operator: str, version: str,
           page_size: int, busy: StudioBusy = contextlib.nullcontext) -> Iterator[dict[str, Any]]:
    """The project's tasks whose predictions' versions do (``contains``) or do not (``not_contains``) contain
    ``version``, in id order, ``task_only`` with ``include``, as Label Studio's JSON.

    Read by id (always the first page of the tasks after the last id seen), not by page number: predictions
    stored during the read take tasks out of the ``not_contains`` set, which would shift numbered pages."""
    after = 0
    while True:
        query = json.dumps({"filters": {"conjunction": "and", "items": [
            {"filter": "filter:tasks:predictions_model_versions", "operator": operator, "type": "List",
             "value": [version]},
            {"filter": "filter:tasks:id", "operator": "greater", "type": "Number", "value": after}]},
            "ordering": ["tasks:id"]})
        with busy():
            page = _call(client, "api/tasks/", "GET", params={
                "project": project_id, "fields": "task_only", "include": include, "query": query, "page": 1,
                "page_size": page_size}).get("tasks") or []
        yield from page
        if len(page) < page_size:
            return
        after = int(page[-1]["id"])


def _model_versions(client: LabelStudio, project_id: int) -> set[str] | None:
    """The model versions of the project's predictions (``GET /api/projects/{id}/model-versions/``; the SDK has no
    call for it), or None when the server does not answer it."""
    try:
        return {str(v) for v in _call(client, f"api/projects/{project_id}/model-versions/", "GET")}
    except Exception as err:  # an older or newer server: fall back to the exact check of every substring match
        log.debug("project %s: no model-versions (%s)", project_id, err)
        return None


def _has_version(client: LabelStudio, task: dict[str, Any], version: str) -> bool:
    """Whether a task listed with ``predictions_model_versions`` has a prediction of exactly ``version``.

    Label Studio lists the versions comma-joined and cuts the list at 500 characters; a cut list is read whole."""
    listed = str(task.get("predictions_model_versions") or "")
    if version in {v.strip() for v in listed.split(",")}:
        return True
    return len(listed) >= 500 and any(_as_dict(p).get("model_version") == version
                                      for p in client.tasks.get(id=int(task["id"])).predictions or [])


def predicted_ids(client: LabelStudio, project_id: int, version: str, page_size: int = 1000) -> set[int]:
    """Ids of the project's tasks with a prediction of exactly ``version`` (Label Studio's filter matches a
    substring, case-insensitively, so each hit is checked against its list)."""
    return {int(task["id"]) for task in _pages(client, project_id, "id,predictions_model_versions", "contains",
                                               version, page_size) if _has_version(client, task, version)}


def read_ahead(items: Iterator[T], size: int) -> Iterator[T]:
    """``items``, pulled by a background thread up to ``size`` ahead, so Label Studio serves the next page while
    this process predicts; an error in the reader is raised here, and leaving the loop early stops the reader."""
    handoff: queue.Queue = queue.Queue(maxsize=size)
    closed = threading.Event()
    end = object()

    def put(entry: tuple[Any, BaseException | None]) -> bool:
        while not closed.is_set():
            try:
                handoff.put(entry, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def pump() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((end, None))
        except BaseException as err:  # handed to the consumer, raised there
            put((end, err))

    reader = threading.Thread(target=pump, name="read-tasks", daemon=True)
    reader.start()
    try:
        while True:
            item, err = handoff.get()
            if item is end:
                if err is not None:
                    raise err
                return
            yield item
    finally:
        closed.set()


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
                    progress: Progress | None = None, stop: threading.Event | None = None,
                    studio_busy: StudioBusy = contextlib.nullcontext,
                    prepare: Callable[[], None] | None = None) -> BulkOutcome:
    """Give every chosen task of the project one prediction of ``version``; returns what was done.

    ``batch`` tasks go to ``predict`` at a time, ``chunk`` predictions (default: ``store_chunk`` of the project's
    size) to Label Studio a request. Up to ``READ_AHEAD_PAGES`` pages of tasks are read ahead. ``studio_busy`` is
    entered around each request to Label Studio (``nerloop.suggestions`` lends Label Studio a core while it works,
    when it runs on this machine). ``prepare`` is called once, when the first task that needs a prediction is
    read, before ``predict`` is: a caller that loads its model there in the background (and lets ``predict`` wait
    for it) loads nothing on a rerun with nothing to do, and has the next pages read while it loads."""
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

    def send(request: list[dict[str, Any]]) -> None:
        body = json.dumps(request).encode()
        with studio_busy():
            _call(client, f"api/projects/{project_id}/import/predictions", "POST", body=body)

    def store() -> None:
        nonlocal predicted
        if ready:
            wait_stored()
            pending.append(storing.submit(send, list(ready)))
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

    listed = 0
    prepared = False
    try:
        for listed, task in enumerate(read_ahead(_tasks(client, project_id, view, page_size, version, studio_busy),
                                                 READ_AHEAD_PAGES * page_size), start=1):
            if stop is not None and stop.is_set():
                predict_todo()
                store()
                wait_stored()
                return BulkOutcome(predicted, skipped, time.perf_counter() - began, stopped=True)
            if needs_prediction(task, version, unlabeled_only=unlabeled_only, chosen=chosen):
                if prepare is not None and not prepared:
                    prepared = True
                    prepare()
                todo.append(task)
                if len(todo) >= batch:
                    predict_todo()
            else:
                skipped += 1
            if progress is not None:
                progress(listed, max(total, listed))
        predict_todo()
        store()
        wait_stored()
    finally:
        storing.shutdown(wait=True)
    if view is None:  # the tasks the filter left out already have a prediction of this version
        skipped += max(0, total - listed)
    if progress is not None:
        progress(max(total, listed), max(total, listed))
    outcome = BulkOutcome(predicted, skipped, time.perf_counter() - began)
    log.info("project %s: %d task(s) predicted with %s, %d skipped, in %.1f s", project_id, predicted, version,
             skipped, outcome.seconds)
    return outcome
