"""``nerloop predict``: a whole project's pre-annotations from its served round, stored in bulk.

The round is loaded with the settings' runtime (``inference.loader.load_round``) and predicted by
``inference.predictions.predict_tasks``, the function behind ``/predict`` (same windows, runtime and regions), so a
suggestion stored in bulk equals one Label Studio would get from the backend. The paging, skipping and storing is
``inference.bulk.predict_project``.

The model runs one single-threaded forward pass per core at once (``CoreShare``: a bulk job has many independent
batches). When Label Studio runs on this machine (its URL's host is a loopback address or this host's name), it
works on the same cores: each page it serves and each chunk it stores takes a core for a while, so one pass fewer
runs while such a request is in flight. A remote Label Studio costs this machine nothing.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

from core.errors import StudioError
from inference.bulk import BulkOutcome, Progress, predict_project
from inference.loader import LoadedRound, load_round
from inference.predictions import predict_tasks
from nerloop.settings import Settings
from store.order_view import keep_order_view
from store.projects import project_dir, suggestions_slot
from store.registry import resolve_round
from store.studio import Studio

log = logging.getLogger(__name__)

PREDICT_BATCH = 1024  # tasks a predict call: the classifier sorts them by length, so fewer pads than 256
# predict calls at once: a call of 1,024 MIT tasks spends 0.15-0.5 s of its 2-2.5 s (2 cores) tokenizing and
# building regions on one thread, and its last batches run alone; a second call's forward passes fill that core
PREDICT_OVERLAP = 2


class CoreShare:
    """How a bulk job's model uses this machine's cores; called, a context manager for
    ``predict_project(studio_busy=...)``, entered around each request to Label Studio.

    Once ``attach``ed to a classifier on a CPU torch runner, the model runs ``cores`` one-thread forward passes at
    once (``TokenClassifier.parallel``): a bulk job's batches are independent, and on 2 cores two one-thread passes
    do 1.8-1.9 times the work of one where one two-thread pass does 1.3-1.8. With ``lend`` (Label Studio runs on this
    machine) one pass fewer runs while at least one request to it is in flight, instead of the model and Label
    Studio's request fighting over the cores. Any other runner (ONNX, whose session fixes its threads; CUDA) is
    left as it was loaded.
    """

    def __init__(self, cores: int, *, lend: bool) -> None:
        self.cores = max(1, cores)
        self.lend = lend
        self.classifier: Any = None
        self._busy = 0
        self._lock = threading.Lock()

    def attach(self, classifier: Any) -> None:
        runner = classifier.runner
        if getattr(runner, "threads", None) is None or getattr(runner, "device", "cpu") != "cpu":
            return
        runner.threads = 1
        with self._lock:
            self.classifier = classifier
            self._apply()

    def _apply(self) -> None:
        if self.classifier is not None:
            self.classifier.parallel = max(1, self.cores - 1) if self._busy and self.lend else self.cores

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            self._busy += 1
            self._apply()
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                self._apply()


def is_local(url: str) -> bool:
    """Whether ``url``'s host is this machine (a loopback address, ``localhost`` or this host's name)."""
    host = (urlparse(url).hostname or "").lower()
    if host in {"localhost", socket.gethostname().lower()}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _RoundLoader:
    """The round's model, loaded once on demand: ``start`` begins loading it in a background thread (called when
    the first task that needs it is read, so the next pages are read while it loads), and predicting a batch waits
    for the load."""

    def __init__(self, load: Callable[[], LoadedRound], share: CoreShare) -> None:
        self._load = load
        self._share = share
        self._loading = ThreadPoolExecutor(max_workers=1, thread_name_prefix="load-round")
        self._model: Future[LoadedRound] | None = None

    def start(self) -> None:
        if self._model is None:
            self._model = self._loading.submit(self._load)

    def model(self) -> LoadedRound:
        self.start()
        assert self._model is not None
        loaded = self._model.result()
        if self._share.classifier is None:
            self._share.attach(loaded.classifier)
        return loaded

    def close(self) -> None:
        self._loading.shutdown(wait=True)


def pre_annotate(settings: Settings, project_id: int, *, round_name: str = "current", unlabeled_only: bool = False,
                 view: int | None = None, task_ids: Sequence[int] | None = None, chunk: int | None = None,
                 progress: Progress | None = None, say: Callable[[str], None] = log.info) -> BulkOutcome:
    """Store one prediction of the project's round (``current`` or a name) on each chosen task that lacks one,
    as the project's one writer of predictions (``store.projects.suggestions_slot``: waiting for the backend's
    refresh, if it is storing)."""
    record = resolve_round(project_dir(settings.models_dir, project_id), round_name)
    studio = Studio.connect(settings.studio_url, settings.api_key)
    config = studio.label_config(project_id)
    share = CoreShare(settings.threads, lend=is_local(settings.studio_url))
    # loaded when the first task that needs it is read: a rerun with nothing to do loads nothing
    loader = _RoundLoader(lambda: load_round(record.model_dir, record.name, **settings.runtime_options()), share)

    def annotate(batch: list[dict]) -> list[dict]:
        return predict_tasks(loader.model(), batch, config, max_text_chars=settings.max_text_chars).predictions

    try:
        with suggestions_slot(settings.models_dir, project_id, "nerloop predict", say=say), \
                studio.errors(f"storing predictions of {record.name} in project {project_id}"):
            outcome = predict_project(studio, project_id, annotate, record.name, unlabeled_only=unlabeled_only,
                                      view=view, task_ids=task_ids, chunk=chunk, batch=PREDICT_BATCH,
                                      overlap=PREDICT_OVERLAP, progress=progress, studio_busy=share,
                                      prepare=loader.start)
    finally:
        loader.close()
    if settings.order_tab and not outcome.stopped and record.name == resolve_round(
            project_dir(settings.models_dir, project_id), "current").name:
        try:  # the tab orders by the served round's scores from now on
            keep_order_view(studio, project_id, record.name)
        except StudioError as err:  # the predictions are stored; the tab is kept again on the next run or /setup
            log.warning("project %s: the Data Manager tab was not kept: %s", project_id, err)
    return outcome
