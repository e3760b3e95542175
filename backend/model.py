"""The model class, label-studio-ml 2.x style: ``predict(tasks, context)`` and ``fit(event, data)``.

``predict`` returns exactly one prediction per task, in order, stamped with the served round's name. Per-task
problems never fail the batch: a task whose data lacks the config's key, whose text is not a string, is empty, holds
a lone surrogate (not UTF-8), or is longer than ``max_text_chars`` gets an empty ``result`` with score 0.0; the
reason is logged with the task id and counted in ``nerloop_tasks_skipped_total{reason=...}``. Request-level problems
(no tasks list, an unusable label config) are the router's 4xx.

``fit`` routes webhook events: ``ANNOTATION_CREATED``/``ANNOTATION_UPDATED`` count towards the next round,
``START_TRAINING`` starts one now, anything else is acknowledged and ignored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from backend.loader import LoadedModel
from backend.metrics import Metrics
from backend.regions import build_regions
from backend.scheduler import RetrainScheduler
from backend.schemas import project_key
from backend.serving import NO_MODEL, ModelPool
from backend.settings import BackendSettings
from converters.tokens import tokenize
from labeling_config.config import LabelConfig

log = logging.getLogger(__name__)

ANNOTATION_EVENTS = frozenset({"ANNOTATION_CREATED", "ANNOTATION_UPDATED"})
TRAIN_EVENT = "START_TRAINING"


class NerBackend:
    """Pre-annotations from each project's served round; retraining through ``RetrainScheduler``."""

    model_class = "NerBackend"

    def __init__(self, settings: BackendSettings, pool: ModelPool, rounds: RetrainScheduler,
                 metrics: Metrics) -> None:
        self.settings = settings
        self.pool = pool
        self.rounds = rounds
        self.metrics = metrics
        self._mismatches: set[tuple[str, str]] = set()
        self._mismatch_lock = threading.Lock()

    def model_version(self, project: str | None) -> str:
        return self.pool.version(project)

    def predict(self, tasks: Sequence[dict[str, Any]], context: dict[str, Any] | None = None, *,
                config: LabelConfig, project: str | None = None) -> list[dict[str, Any]]:
        """One ``{"result", "score", "model_version"}`` per task, in order, from ``project``'s served round."""
        return self.predict_with(self.pool.get(project, self.settings.load_wait), tasks, config=config,
                                 project=project)

    def predict_with(self, model: LoadedModel | None, tasks: Sequence[dict[str, Any]], *, config: LabelConfig,
                     project: str | None = None) -> list[dict[str, Any]]:
        """``predict`` with a given model (bulk pre-annotation loads its round itself)."""
        version = model.version if model else NO_MODEL
        empty = {"result": [], "score": 0.0, "model_version": version}
        out: list[dict[str, Any]] = [dict(empty) for _ in tasks]
        if model is None:
            self.metrics.inc("nerloop_predictions_total", len(tasks))
            return out
        self._check_labels(project, model, config)
        texts: list[str] = []
        chosen: list[int] = []
        for i, task in enumerate(tasks):
            text = self._text_of(task, config)
            if text is not None:
                texts.append(text)
                chosen.append(i)
        words = [tokenize(text) for text in texts]
        scores = model.classifier.score([[w.text for w in ws] for ws in words])
        regions_total = 0
        dropped = 0
        for i, text, ws, score in zip(chosen, texts, words, scores, strict=True):
            regions, task_score, left_out = build_regions(text, ws, score, model.classifier.tags, config)
            out[i] = {"result": regions, "score": task_score, "model_version": version}
            regions_total += len(regions)
            dropped += left_out
        if dropped:
            self.metrics.inc("nerloop_regions_dropped_total", dropped, reason="label_not_in_project")
            log.info("left out %d region(s) whose label the project's config does not have (model labels %s, "
                     "project labels %s)", dropped, sorted(model.labels), sorted(config.labels))
        self.metrics.inc("nerloop_predictions_total", len(tasks))
        self.metrics.inc("nerloop_regions_total", regions_total)
        return out

    def _check_labels(self, project: str | None, model: LoadedModel, config: LabelConfig) -> None:
        """A request whose label config differs from the served model's labels: logged once, counted always."""
        if set(config.labels) == set(model.labels):
            return
        self.metrics.inc("nerloop_label_mismatch_total", project=project or "default")
        key = (project or "default", model.version)
        with self._mismatch_lock:
            if key in self._mismatches:
                return
            self._mismatches.add(key)
        log.warning("project %s: the label config's labels %s differ from %s's %s; entities of labels the config "
                    "lacks are left out (nerloop_regions_dropped_total), labels the model lacks are never predicted: "
                    "train a round of this project", project, sorted(config.labels), model.version,
                    sorted(model.labels))

    def _text_of(self, task: dict[str, Any], config: LabelConfig) -> str | None:
        data = task.get("data") or {}
        key = config.data_key
        text = data.get(key)
        reason = None
        if key not in data:
            reason = "missing"
            message = f"no {key!r} in data (the label config reads ${key}); import tasks with data.{key}"
        elif not isinstance(text, str):
            reason = "not_text"
            message = f"data.{key} is {type(text).__name__}, not a string"
        elif not text.strip():
            reason = "empty"
            message = f"data.{key} is empty"
        elif not _encodable(text):
            reason = "not_utf8"
            message = f"data.{key} holds a lone surrogate (not encodable as UTF-8)"
        elif len(text) > self.settings.max_text_chars:
            reason = "too_long"
            message = (f"data.{key} has {len(text)} characters, over max_text_chars="
                       f"{self.settings.max_text_chars}; split the task or raise NERLOOP_MAX_TEXT_CHARS")
        if reason is None:
            return text
        self.metrics.inc("nerloop_tasks_skipped_total", reason=reason)
        log.warning("task %s: empty result: %s", task.get("id"), message)
        return None

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
        start = self.rounds.start_training if event == TRAIN_EVENT else self.rounds.annotation_event
        status = start(project)
        self.metrics.inc("nerloop_webhook_events_total", action=event, outcome=status)
        state = self.rounds.state(project)
        detail = None
        if status == "counted" and state is not None:
            every = self.rounds.retrain_every(project)
            detail = (f"{state.events}/{every} annotation events towards the next round" if every
                      else "retrain_every=0: rounds start only from the Train button")
        return {"status": status, "action": event, "project": project, "detail": detail}


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _event_project(data: dict[str, Any]) -> str | None:
    for source in (data.get("project"), (data.get("annotation") or {}).get("project"),
                   (data.get("task") or {}).get("project")):
        key = project_key(source)
        if key is not None:
            return key
    return None
