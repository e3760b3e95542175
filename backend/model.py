"""The model class, label-studio-ml 2.x style: ``predict(tasks, context)`` and ``fit(event, data)``.

``predict`` returns exactly one prediction per task, in order, stamped with the served round's name
(``inference.predictions.predict_tasks``); a task that gets an empty result is counted in
``nerloop_tasks_skipped_total{reason=...}``. Request-level problems (no tasks list, an unusable label config) are the
router's 4xx.

``fit`` routes webhook events: ``ANNOTATION_CREATED``/``ANNOTATION_UPDATED`` count towards the next round,
``START_TRAINING`` starts one now, anything else is acknowledged and ignored. Only projects this process received
``/setup`` for (or already tracks), or that have a folder in the models registry, are counted or trained: events
naming any other project id are ignored with that reason, so a flood of made-up ids tracks and starts nothing. (With
several worker processes, ``/setup`` reaches one of them; the others train a project once its first round made its
folder.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from backend.configs import ProjectConfigs
from backend.prometheus import Metrics
from backend.scheduler import RetrainScheduler
from backend.serving import ModelPool
from backend.settings import BackendSettings
from core.project import ProjectRef
from inference.loader import LoadedRound
from inference.predictions import predict_tasks
from labeling_config.config import LabelConfig
from store.projects import project_dir

log = logging.getLogger(__name__)

ANNOTATION_EVENTS = frozenset({"ANNOTATION_CREATED", "ANNOTATION_UPDATED"})
TRAIN_EVENT = "START_TRAINING"


class NerBackend:
    """Pre-annotations from each project's served round; retraining through ``RetrainScheduler``."""

    model_class = "NerBackend"

    def __init__(self, settings: BackendSettings, pool: ModelPool, rounds: RetrainScheduler,
                 metrics: Metrics, configs: ProjectConfigs) -> None:
        self.settings = settings
        self.pool = pool
        self.rounds = rounds
        self.metrics = metrics
        self.configs = configs
        self._mismatches: set[tuple[str, str]] = set()
        self._mismatch_lock = threading.Lock()

    def model_version(self, project: ProjectRef | None) -> str:
        return self.pool.version(project)

    def predict(self, tasks: Sequence[dict[str, Any]], context: dict[str, Any] | None = None, *,
                config: LabelConfig, project: ProjectRef | None = None) -> list[dict[str, Any]]:
        """One ``{"result", "score", "model_version"}`` per task, in order, from ``project``'s served round."""
        return self.predict_with(self.pool.get(project, self.settings.load_wait), tasks, config=config,
                                 project=project)

    def predict_with(self, model: LoadedRound | None, tasks: Sequence[dict[str, Any]], *, config: LabelConfig,
                     project: ProjectRef | None = None) -> list[dict[str, Any]]:
        """``predict`` with a given model (the refresh after a promotion holds the round it refreshes with)."""
        if model is not None:
            self._check_labels(project, model, config)
        done = predict_tasks(model, tasks, config, max_text_chars=self.settings.max_text_chars)
        for skipped in done.skipped:
            self.metrics.inc("nerloop_tasks_skipped_total", reason=skipped.reason)
        if done.dropped and model is not None:
            self.metrics.inc("nerloop_regions_dropped_total", done.dropped, reason="label_not_in_project")
            log.info("left out %d region(s) whose label the project's config does not have (model labels %s, "
                     "project labels %s)", done.dropped, sorted(model.labels), sorted(config.labels))
        self.metrics.inc("nerloop_predictions_total", len(tasks))
        if model is not None:
            self.metrics.inc("nerloop_regions_total", done.regions)
        return done.predictions

    def _check_labels(self, project: ProjectRef | None, model: LoadedRound, config: LabelConfig) -> None:
        """A request whose label config differs from the served model's labels: logged once, counted always."""
        if set(config.labels) == set(model.labels):
            return
        self.metrics.inc("nerloop_label_mismatch_total", project=str(project or "default"))
        key = (str(project or "default"), model.version)
        with self._mismatch_lock:
            if key in self._mismatches:
                return
            self._mismatches.add(key)
        log.warning("project %s: the label config's labels %s differ from %s's %s; entities of labels the config "
                    "lacks are left out (nerloop_regions_dropped_total), labels the model lacks are never predicted: "
                    "train a round of this project", project, sorted(config.labels), model.version,
                    sorted(model.labels))

    def fit(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Route one webhook event; returns ``{"status", "action", "project", "detail"}`` at once."""
        project = _event_project(data)
        if event not in ANNOTATION_EVENTS and event != TRAIN_EVENT:
            self.metrics.inc("nerloop_webhook_events_total", action="other", outcome="ignored")
            return {"status": "ignored", "action": event, "project": project,
                    "detail": f"{event!r} does not train; handled: {', '.join(sorted(ANNOTATION_EVENTS))}, "
                              f"{TRAIN_EVENT}"}
        if project is None:
            self.metrics.inc("nerloop_webhook_events_total", action=event, outcome="ignored")
            return {"status": "ignored", "action": event, "project": None,
                    "detail": "no project id in the event (expected project.id, annotation.project or task.project)"}
        folder = project_dir(self.settings.models_dir, project)
        if not (self.configs.seen(project) or self.rounds.state(project) or folder.is_dir()):
            self.metrics.inc("nerloop_webhook_events_total", action=event, outcome="ignored")
            return {"status": "ignored", "action": event, "project": project,
                    "detail": f"project {project} is unknown here: Label Studio has not connected it (/setup) and "
                              f"the models registry has no {folder.name}; connect the model in the project's "
                              "Settings > Model, or run `nerloop round --project ID` once"}
        start = self.rounds.start_training if event == TRAIN_EVENT else self.rounds.annotation_event
        status = start(project)
        if status == "full":
            self.metrics.inc("nerloop_webhook_events_total", action=event, outcome="ignored")
            return {"status": "ignored", "action": event, "project": project,
                    "detail": f"all {self.settings.max_projects} tracked projects have a round running or queued "
                              "(NERLOOP_MAX_PROJECTS); send it again when one has finished"}
        self.metrics.inc("nerloop_webhook_events_total", action=event, outcome=status)
        state = self.rounds.state(project)
        detail = None
        if status == "counted" and state is not None:
            every = self.rounds.retrain_every(project)
            detail = (f"{state.events}/{every} annotation events towards the next round" if every
                      else "retrain_every=0: rounds start only from the Train button")
        return {"status": status, "action": event, "project": project, "detail": detail}


def _event_project(data: dict[str, Any]) -> str | None:
    for source in (data.get("project"), (data.get("annotation") or {}).get("project"),
                   (data.get("task") or {}).get("project")):
        ref = ProjectRef.from_request(source)
        if ref is not None:
            return ref.name
    return None
