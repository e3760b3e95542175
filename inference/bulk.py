"""Pre-annotating a whole project: page through its tasks, predict them locally, store the predictions in chunks.

Label Studio's *Retrieve predictions* action sends every selected task to ``/predict`` in one request with a 100 s
timeout, so it fails on large projects. Here the tasks are read page by page (``store.task_pages``: only those
without a prediction of this model_version, pages ahead), predicted with the same function that serves ``/predict``
(``inference.predictions.predict_tasks``), ``batch`` tasks a call and up to ``overlap`` calls at once, and stored
with Label Studio's bulk import (``POST /api/projects/{id}/import/predictions``) ``chunk`` predictions a request,
one request in flight while the next tasks are predicted. A task that already has a prediction of this model_version
is skipped, so a second run adds nothing and an interrupted run continues where it stopped.

By default Label Studio 1.23 recounts the annotations and predictions of *every* task of the project after each
import, a cost that grows with the project; with its feature flag
``fflag_fix_back_4620_memory_efficient_predictions_import_08012025_short`` on, only the imported tasks are
recounted. nerloop's own Label Studio (``nerloop up``) runs with the flag; for any other server the chunk grows
with the project (``store_chunk``) so the recounts stay a bounded number per pass (docs/benchmarks.md has the
figures).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from store.studio import Studio
from store.task_pages import ProjectTask, StudioBusy, duplicated_predictions, read_ahead, tasks_to_predict

log = logging.getLogger(__name__)

Predict = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
Progress = Callable[[int, int], None]  # (tasks done, tasks in the project or view)
# Pages of tasks read ahead of the model: while a cold model loads (about 4 s on 2 cores) Label Studio serves about
# that many pages of 1,000 on the other core, work that would otherwise compete with predicting.
READ_AHEAD_PAGES = 8


@dataclass(frozen=True)
class BulkOutcome:
    predicted: int  # tasks that got a new prediction
    skipped: int  # tasks left alone: already predicted by this version, annotated (with unlabeled_only), not chosen
    seconds: float
    stopped: bool = False  # the stop event was set before the end
    duplicates: int = 0  # repeated predictions of this version removed first (the older copies)


def store_chunk(total: int | None) -> int:
    """Predictions per import request for a project of ``total`` tasks (``None``: not known, e.g. a view).

    A sixteenth of the project, between 256 and 4,096: on a Label Studio that recounts every task after each import
    a whole pass costs at most about sixteen recounts, and a request stays a few MB."""
    if total is None:
        return 1024
    return max(256, min(4096, total // 16))


def needs_prediction(task: ProjectTask, version: str, *, unlabeled_only: bool, chosen: set[int] | None) -> bool:
    """Whether ``task`` should get a prediction of ``version`` now."""
    if chosen is not None and int(task.id) not in chosen:
        return False
    if unlabeled_only and task.total_annotations > 0:
        return False
    return not any(p.get("model_version") == version for p in task.predictions)


class _Pipeline:
    """Batches of tasks in, their predictions stored: up to ``overlap`` calls of ``predict`` run at once (their
    results taken in order), gathered into chunks of ``chunk``, one chunk stored while the next batches are
    predicted. A stopped or failed run loses at most the calls in flight and one chunk."""

    def __init__(self, studio: Studio, project_id: int, predict: Predict, *, chunk: int, overlap: int,
                 busy: StudioBusy) -> None:
        self.studio, self.project_id, self.predict, self.chunk, self.busy = studio, project_id, predict, chunk, busy
        self.overlap = max(1, overlap)
        self.predicted = 0  # predictions handed to Label Studio
        self._predicting = ThreadPoolExecutor(max_workers=self.overlap, thread_name_prefix="predict")
        self._storing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-predictions")
        self._calls: deque[tuple[list[ProjectTask], Future]] = deque()
        self._ready: list[dict[str, Any]] = []  # predicted, not sent yet
        self._stored: Future | None = None

    def add(self, tasks: list[ProjectTask]) -> None:
        if len(self._calls) >= self.overlap:
            self._take()
        self._calls.append((tasks, self._predicting.submit(self.predict, [{"id": t.id, "data": t.data}
                                                                            for t in tasks])))

    def finish(self) -> None:
        """Wait for the calls in flight and store everything. What is ready is sent before each wait, so the last
        request (which nothing overlaps) holds only the last call's predictions, not up to a chunk more."""
        while self._calls:
            self._store()
            self._take()
        self._store()
        self._wait_stored()

    def close(self) -> None:
        self._predicting.shutdown(wait=True, cancel_futures=True)
        self._storing.shutdown(wait=True)

    def _take(self) -> None:
        tasks, call = self._calls.popleft()
        self._ready.extend({"task": t.id, "result": r["result"], "score": r["score"],
                            "model_version": r["model_version"]} for t, r in zip(tasks, call.result(), strict=True))
        if len(self._ready) >= self.chunk:
            self._store()

    def _store(self) -> None:
        if self._ready:
            self._wait_stored()
            self._stored = self._storing.submit(self._send, self._ready)
            self.predicted += len(self._ready)
            self._ready = []

    def _wait_stored(self) -> None:
        if self._stored is not None:
            stored, self._stored = self._stored, None
            stored.result()

    def _send(self, request: list[dict[str, Any]]) -> None:
        body = json.dumps(request).encode()
        with self.busy():
            self.studio.import_predictions(self.project_id, body)


def predict_project(studio: Studio, project_id: int, predict: Predict, version: str, *,
                    unlabeled_only: bool = False, view: int | None = None, task_ids: Sequence[int] | None = None,
                    chunk: int | None = None, batch: int = 256, overlap: int = 1, page_size: int = 1000,
                    progress: Progress | None = None, stop: threading.Event | None = None,
                    studio_busy: StudioBusy = contextlib.nullcontext,
                    prepare: Callable[[], None] | None = None) -> BulkOutcome:
    """Give every chosen task of the project one prediction of ``version``; returns what was done.

    ``batch`` tasks go to ``predict`` at a time, up to ``overlap`` calls at once (``predict`` must then be safe to
    call from several threads: with 2, one call's single-threaded tokenizing and decoding runs while another's
    forward passes do), ``chunk`` predictions (default: ``store_chunk`` of the project's size) to Label Studio a
    request. Up to ``READ_AHEAD_PAGES`` pages of tasks are read ahead. ``studio_busy`` is entered around each
    request to Label Studio (``nerloop predict`` lends Label Studio a core while it works, when it runs on
    this machine). ``prepare`` is called once, when the first task that needs a prediction is read, before
    ``predict`` is: a caller that loads its model there in the background (and lets ``predict`` wait for it) loads
    nothing on a rerun with nothing to do, and has the next pages read while it loads.

    A task that holds two or more predictions of ``version`` (stored by two writers at once before they took turns,
    see ``store.projects.suggestions_slot``) keeps the newest; the others are deleted first and counted."""
    began = time.perf_counter()
    duplicates = remove_duplicates(studio, project_id, version)
    total = studio.count_tasks(project_id)[0] if view is None else 0
    chunk = chunk or store_chunk(total if view is None else None)
    batch = min(batch, chunk)
    chosen = {int(i) for i in task_ids} if task_ids is not None else None
    pipeline = _Pipeline(studio, project_id, predict, chunk=chunk, overlap=overlap, busy=studio_busy)
    skipped = listed = 0
    prepared = False
    todo: list[ProjectTask] = []  # chosen, not handed to the pipeline yet
    try:
        tasks = tasks_to_predict(studio, project_id, view, page_size, version, studio_busy)
        for listed, task in enumerate(read_ahead(tasks, READ_AHEAD_PAGES * page_size), start=1):
            if stop is not None and stop.is_set():
                if todo:
                    pipeline.add(todo)
                pipeline.finish()
                return BulkOutcome(pipeline.predicted, skipped, time.perf_counter() - began, stopped=True,
                                   duplicates=duplicates)
            if needs_prediction(task, version, unlabeled_only=unlabeled_only, chosen=chosen):
                if prepare is not None and not prepared:
                    prepared = True
                    prepare()
                todo.append(task)
                if len(todo) >= batch:
                    pipeline.add(todo)
                    todo = []
            else:
                skipped += 1
            if progress is not None:
                progress(listed, max(total, listed))
        if todo:
            pipeline.add(todo)
        pipeline.finish()
    finally:
        pipeline.close()
    if view is None:  # the tasks the filter left out already have a prediction of this version
        skipped += max(0, total - listed)
    if progress is not None:
        progress(max(total, listed), max(total, listed))
    outcome = BulkOutcome(pipeline.predicted, skipped, time.perf_counter() - began, duplicates=duplicates)
    log.info("project %s: %d task(s) predicted with %s, %d skipped, in %.1f s", project_id, outcome.predicted,
             version, skipped, outcome.seconds)
    return outcome


def remove_duplicates(studio: Studio, project_id: int, version: str) -> int:
    """Delete every prediction of ``version`` that repeats one on the same task (the newest stays); returns how
    many went."""
    extra = duplicated_predictions(studio, project_id, version)
    for prediction_id in extra:
        studio.delete_prediction(prediction_id)
    if extra:
        log.warning("project %s: removed %d repeated prediction(s) of %s", project_id, len(extra), version)
    return len(extra)
