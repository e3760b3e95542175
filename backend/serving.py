"""The served models, one per project: loaded lazily, hot-swapped per project, the least recently used evicted.

Each project's served round is the ``current`` pointer of its registry (``models/project-<id>/current``). A
project's model is loaded the first time the project is asked for (``/setup`` starts the load in the background,
``/predict`` waits up to ``load_wait`` for it), and at most ``max_models`` stay in memory. A watcher thread reads
the pointers of the loaded projects every ``watch_interval`` seconds; when one names another round, that model is
loaded completely and only then swapped in by replacing one reference, so requests in flight finish on the old
model and none fails or waits. A round that cannot be loaded is logged once and the old model stays served. A
project with no round answers ``no-model``, never another project's round. Projects with no model in memory are
remembered up to ``max_projects``, the oldest forgotten first, however many project ids requests name.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from backend.prometheus import Metrics
from backend.settings import BackendSettings
from core.errors import NerloopError
from inference.loader import LoadedRound, load_round
from inference.predictions import NO_MODEL
from store.projects import Project, project_dir, project_name
from store.registry import current_round

log = logging.getLogger(__name__)

Loader = Callable[..., LoadedRound]


def load_served_round(model_dir: str | Path, version: str, settings: BackendSettings) -> LoadedRound:
    """A round loaded with the backend's runtime, threads and batch size."""
    return load_round(model_dir, version, **settings.runtime_options())


@dataclass
class ProjectModel:
    """What the pool knows about one project's model."""

    project: str
    model: LoadedRound | None = None
    failed: str | None = None  # the round (or pointer error) that failed to load; not retried until it changes
    loaded: threading.Event = field(default_factory=threading.Event)  # the first load attempt has finished
    lock: threading.Lock = field(default_factory=threading.Lock)  # one load of this project at a time
    last_used: float = 0.0

    @property
    def version(self) -> str:
        return self.model.version if self.model else NO_MODEL


class ModelPool:
    def __init__(self, settings: BackendSettings, metrics: Metrics, loader: Loader = load_served_round,
                 on_promotion: Callable[[str, LoadedRound], None] | None = None) -> None:
        self.settings = settings
        self.metrics = metrics
        self.loader = loader
        self.on_promotion = on_promotion  # called when a served round is replaced (not on a project's first load)
        self._projects: dict[str, ProjectModel] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="model-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def get(self, project: Project, wait: float) -> LoadedRound | None:
        """The project's served model, loading it first (waiting up to ``wait`` s) when it is not in memory."""
        state = self._state(project)
        state.last_used = time.monotonic()
        if not state.loaded.is_set():
            self.warm(project)
            state.loaded.wait(wait)
        elif (state.model is None and self.version(project) != NO_MODEL  # its first round appeared meanwhile
              and state.lock.acquire(timeout=wait)):
            try:
                self._follow(state)
            finally:
                state.lock.release()
        return state.model

    def loaded_version(self, project: Project) -> str:
        """The round in memory for the project now ('no-model' while none is loaded)."""
        with self._lock:
            state = self._projects.get(project_name(project))
        return state.version if state else NO_MODEL

    def version(self, project: Project) -> str:
        """What the project serves now, or will once its model is loaded (its pointer), without waiting."""
        state = self._state(project)
        if state.model is not None:
            return state.model.version
        try:
            record = current_round(project_dir(self.settings.models_dir, state.project))
        except NerloopError:
            return NO_MODEL
        return record.name if record is not None and state.failed != record.name else NO_MODEL

    def warm(self, project: Project) -> None:
        """Start loading the project's model in the background (nothing happens if it is loaded or loading)."""
        state = self._state(project)
        if state.loaded.is_set() or state.lock.locked():
            return
        threading.Thread(target=self._first_load, args=(state,), name=f"load-{state.project}", daemon=True).start()

    def check(self, project: Project) -> bool:
        """Follow the project's pointer once; True when a new model was swapped in."""
        state = self._state(project)
        with state.lock:
            return self._follow(state)

    def served(self) -> dict[str, str]:
        """project → the round served now, for the projects in memory."""
        with self._lock:
            return {name: state.version for name, state in self._projects.items()}

    def _state(self, project: Project) -> ProjectModel:
        name = project_name(project)
        with self._lock:
            state = self._projects.get(name)
            if state is None:
                self._forget_idle(self.settings.max_projects - 1)
                state = self._projects[name] = ProjectModel(name)
            return state

    def _forget_idle(self, keep: int) -> None:
        """Forget the oldest projects that have no model in memory and are not loading, down to ``keep`` entries,
        so requests naming ever new project ids do not grow the pool (caller holds ``_lock``)."""
        for name, state in list(self._projects.items()):
            if len(self._projects) <= keep:
                return
            if state.model is None and state.loaded.is_set() and not state.lock.locked():
                del self._projects[name]

    def _first_load(self, state: ProjectModel) -> None:
        try:
            with state.lock:
                self._follow(state)
        finally:
            state.loaded.set()
        self._evict()

    def _follow(self, state: ProjectModel) -> bool:
        registry_dir = project_dir(self.settings.models_dir, state.project)
        try:
            record = current_round(registry_dir)
        except NerloopError as err:
            self._fail_once(state, str(err), f"project {state.project}: {err}")
            return False
        if record is None or (state.model and state.model.version == record.name) or state.failed == record.name:
            return False
        try:
            model = self.loader(record.model_dir, record.name, self.settings)
        except Exception as err:  # any broken round folder: keep serving the old model, say why once
            self.metrics.inc("nerloop_model_load_failures_total", project=state.project)
            self._fail_once(state, record.name, f"project {state.project}: cannot load round {record.name} ({err}); "
                                                f"still serving {state.version}")
            return False
        previous, state.model, state.failed = state.version, model, None
        self.metrics.inc("nerloop_model_swaps_total", project=state.project)
        log.info("project %s: serving %s (was %s)", state.project, model.version, previous)
        if previous != NO_MODEL and self.on_promotion is not None:
            self.on_promotion(state.project, model)
        return True

    def _fail_once(self, state: ProjectModel, key: str, message: str) -> None:
        if state.failed != key:
            log.error("%s", message)
        state.failed = key

    def _evict(self) -> None:
        """Drop the least recently used models beyond ``max_models`` (requests holding one finish on it)."""
        with self._lock:
            loaded = sorted((s for s in self._projects.values() if s.model is not None), key=lambda s: s.last_used)
            for state in loaded[: max(0, len(loaded) - self.settings.max_models)]:
                log.info("project %s: %s evicted from memory (max_models=%d)", state.project, state.version,
                         self.settings.max_models)
                self._projects.pop(state.project, None)
                self.metrics.inc("nerloop_model_evictions_total")

    def _watch(self) -> None:
        while not self._stop.wait(self.settings.watch_interval):
            with self._lock:
                states = [s for s in self._projects.values() if s.loaded.is_set()]
            for state in states:
                try:
                    if state.lock.acquire(blocking=False):
                        try:
                            self._follow(state)
                        finally:
                            state.lock.release()
                except Exception:  # the watcher must survive anything a broken round folder throws at it
                    log.exception("model watcher: unexpected error; will retry")
            self._evict()
