"""Reading a project's tasks from Label Studio for a bulk job: in pages, by id, only those that may need a
prediction of a model version, a few pages ahead of the model.

Requests go through the SDK's own HTTP client (base URL, key, retries) with the JSON done by ``json``: the SDK
encodes a request body with pydantic (160 ms for 1,250 predictions, against 18 ms for ``json.dumps``) and decodes a
page of tasks into models (24 ms against 2 ms a page), all of it holding this process's GIL while the model
predicts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

log = logging.getLogger(__name__)

StudioBusy = Callable[[], AbstractContextManager[Any]]  # held around each request to Label Studio
T = TypeVar("T")


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else value.dict()


@dataclass(frozen=True)
class ProjectTask:
    """A task as a bulk job needs it (``predictions``: only read from a Data Manager view)."""

    id: int
    data: dict[str, Any]
    total_annotations: int
    predictions: list[dict[str, Any]]


def tasks_to_predict(client: LabelStudio, project_id: int, view: int | None, page_size: int, version: str,
                     busy: StudioBusy = contextlib.nullcontext) -> Iterator[ProjectTask]:
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
            yield ProjectTask(int(task.id), dict(task.data or {}), int(task.total_annotations or 0),
                              [_as_dict(p) for p in task.predictions or []])
        return
    for task in _pages(client, project_id, "id,data,total_annotations", "not_contains", version, page_size, busy):
        yield ProjectTask(int(task["id"]), dict(task.get("data") or {}), int(task.get("total_annotations") or 0),
                          [])
    versions = _model_versions(client, project_id)
    if versions is not None and not any(version.lower() in v.lower() and v != version for v in versions):
        return
    for task in _pages(client, project_id, "id,data,total_annotations,predictions_model_versions", "contains",
                       version, page_size, busy):
        if not _has_version(client, task, version):
            yield ProjectTask(int(task["id"]), dict(task.get("data") or {}),
                              int(task.get("total_annotations") or 0), [])


def studio_call(client: LabelStudio, path: str, method: str, *, params: dict[str, Any] | None = None,
                body: bytes | None = None) -> Any:
    """One request through the SDK's HTTP client, ``body`` already JSON; the reply's JSON. A reply that is not 2xx
    raises the SDK's ``ApiError``, as the SDK's own calls do."""
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
            page = studio_call(client, "api/tasks/", "GET", params={
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
        return {str(v) for v in studio_call(client, f"api/projects/{project_id}/model-versions/", "GET")}
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
