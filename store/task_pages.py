"""Reading a project's tasks from Label Studio for a bulk job: in pages, by id, only those that may need a
prediction of a model version, a few pages ahead of the model. Every request is a plain-JSON ``Studio.call``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from store.studio import Studio

log = logging.getLogger(__name__)

StudioBusy = Callable[[], AbstractContextManager[Any]]  # held around each request to Label Studio
T = TypeVar("T")


@dataclass(frozen=True)
class ProjectTask:
    """A task as a bulk job needs it (``predictions``: only read from a Data Manager view)."""

    id: int
    data: dict[str, Any]
    total_annotations: int
    predictions: list[dict[str, Any]]


def tasks_to_predict(studio: Studio, project_id: int, view: int | None, page_size: int, version: str,
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
        for task in studio.all_tasks(project_id, view=view, page_size=page_size):
            yield ProjectTask(int(task["id"]), dict(task.get("data") or {}), int(task.get("total_annotations") or 0),
                              list(task.get("predictions") or []))
        return
    for task in _pages(studio, project_id, "id,data,total_annotations", "not_contains", version, page_size, busy):
        yield ProjectTask(int(task["id"]), dict(task.get("data") or {}), int(task.get("total_annotations") or 0),
                          [])
    versions = studio.model_versions(project_id)
    if versions is not None and not _inside_another(version, versions):
        return
    for task in _pages(studio, project_id, "id,data,total_annotations,predictions_model_versions", "contains",
                       version, page_size, busy):
        if not _has_version(studio, task, version):
            yield ProjectTask(int(task["id"]), dict(task.get("data") or {}),
                              int(task.get("total_annotations") or 0), [])


def duplicated_predictions(studio: Studio, project_id: int, version: str, page_size: int = 1000) -> list[int]:
    """Ids of the project's predictions of ``version`` that repeat one on the same task: all but the newest (the
    highest id) of each task's.

    Cheap when there are none: Label Studio counts the project's predictions of each version, and one request
    counts the tasks that hold ``version`` (exact when no other version contains it as a substring). Only when
    there are more predictions than tasks are the predictions of those tasks with two or more listed (a task's
    list of versions names each version once, so it cannot tell), until the surplus is found."""
    counts = studio.prediction_counts(project_id)
    surplus: int | None = None
    if counts is not None:
        held = counts.get(version, 0)
        if held == 0:
            return []
        if not _inside_another(version, counts):
            surplus = held - _count_tasks_with(studio, project_id, version)
            if surplus <= 0:
                return []
    extra: list[int] = []
    for task in _pages(studio, project_id, "id,total_predictions", "contains", version, page_size):
        if int(task.get("total_predictions") or 0) < 2:
            continue
        same = sorted(int(p["id"]) for p in studio.predictions_of(int(task["id"]))
                      if p.get("model_version") == version)
        extra.extend(same[:-1])
        if surplus is not None and len(extra) >= surplus:
            break
    return extra


def _inside_another(version: str, versions: Iterable[str]) -> bool:
    """Whether another of ``versions`` contains ``version`` as Label Studio's ``contains`` filter matches it (a
    case-insensitive substring): then that filter's hits must be checked one by one."""
    return any(version.lower() in v.lower() and v != version for v in versions)


def _count_tasks_with(studio: Studio, project_id: int, version: str) -> int:
    """How many of the project's tasks hold a prediction whose version contains ``version``."""
    query = json.dumps({"filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:predictions_model_versions", "operator": "contains", "type": "List",
         "value": [version]}]}})
    reply = studio.call("api/tasks/", params={"project": project_id, "fields": "task_only", "include": "id",
                                              "query": query, "page": 1, "page_size": 1})
    return int(reply.get("total") or 0)


def _pages(studio: Studio, project_id: int, include: str, operator: str, version: str,
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
            page = studio.call("api/tasks/", params={
                "project": project_id, "fields": "task_only", "include": include, "query": query, "page": 1,
                "page_size": page_size}).get("tasks") or []
        yield from page
        if len(page) < page_size:
            return
        after = int(page[-1]["id"])


def _has_version(studio: Studio, task: dict[str, Any], version: str) -> bool:
    """Whether a task listed with ``predictions_model_versions`` has a prediction of exactly ``version``.

    Label Studio lists the versions comma-joined and cuts the list at 500 characters; a cut list is read whole."""
    listed = str(task.get("predictions_model_versions") or "")
    if version in {v.strip() for v in listed.split(",")}:
        return True
    return len(listed) >= 500 and any(p.get("model_version") == version
                                      for p in studio.task_predictions(int(task["id"])))


def predicted_ids(studio: Studio, project_id: int, version: str, page_size: int = 1000) -> set[int]:
    """Ids of the project's tasks with a prediction of exactly ``version`` (Label Studio's filter matches a
    substring, case-insensitively, so each hit is checked against its list)."""
    return {int(task["id"]) for task in _pages(studio, project_id, "id,predictions_model_versions", "contains",
                                               version, page_size) if _has_version(studio, task, version)}


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
