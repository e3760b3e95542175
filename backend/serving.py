"""The served model and its hot swap: a watcher thread follows the registry's ``current`` pointer.

At startup the watcher loads the current round in the background (``/health`` and ``/setup`` answer at once).
Every ``watch_interval`` seconds it reads the pointer; when it names another round, the new model is loaded
completely and only then swapped in by replacing one reference. A request holds the ``LoadedModel`` it started
with, so in-flight requests finish on the old model and none fails. A round that cannot be loaded is logged once
and the old model stays served.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from backend.loader import LoadedModel, load_model
from backend.metrics import Metrics
from backend.settings import BackendSettings
from labeling_config.errors import NerloopError
from training.registry import current_round

log = logging.getLogger(__name__)

NO_MODEL = "no-model"

Loader = Callable[..., LoadedModel]


class ModelHolder:
    def __init__(self, settings: BackendSettings, metrics: Metrics, loader: Loader = load_model) -> None:
        self.settings = settings
        self.metrics = metrics
        self.loader = loader
        self.model: LoadedModel | None = None
        self.failed: str | None = None  # the round name that failed to load (not retried until the pointer moves)
        self.first_check = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._check_lock = threading.Lock()

    @property
    def version(self) -> str:
        model = self.model
        return model.version if model else NO_MODEL

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="model-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def wait_first_load(self, timeout: float) -> LoadedModel | None:
        """The model, waiting up to ``timeout`` s for the startup load (a cold start must not serve 'no-model')."""
        self.first_check.wait(timeout)
        return self.model

    def check(self) -> bool:
        """Follow the pointer once; True when a new model was swapped in."""
        with self._check_lock:
            try:
                record = current_round(self.settings.models_dir)
            except NerloopError as err:
                self._fail_once(str(err), str(err))
                return False
            if record is None or (self.model and self.model.version == record.name) or self.failed == record.name:
                return False
            try:
                model = self.loader(record.model_dir, record.name, self.settings)
            except Exception as err:  # any broken round folder: keep serving the old model, say why once
                self.metrics.inc("nerloop_model_load_failures_total")
                self._fail_once(record.name, f"cannot load round {record.name} ({err}); still serving {self.version}")
                return False
            previous, self.model, self.failed = self.version, model, None
            self.metrics.inc("nerloop_model_swaps_total")
            self.metrics.model_info = {"version": model.version, "runtime": model.runtime}
            log.info("serving %s (was %s)", model.version, previous)
            return True

    def _fail_once(self, key: str, message: str) -> None:
        if self.failed != key:
            log.error("%s", message)
        self.failed = key

    def _watch(self) -> None:
        try:
            self.check()
        finally:
            self.first_check.set()
        while not self._stop.wait(self.settings.watch_interval):
            try:
                self.check()
            except Exception:  # the watcher must survive anything a broken round folder throws at it
                log.exception("model watcher: unexpected error; will retry")
