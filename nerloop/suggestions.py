"""``nerloop predict``: a whole project's pre-annotations from its served round, stored in bulk.

The round is loaded here with the backend's own loader and predicted through the backend's own ``predict_with``
(same windows, runtime and regions as ``/predict``), so a suggestion stored in bulk equals one Label Studio would
get from the backend. The paging, skipping and storing is ``backend.bulk.predict_project``.
"""

from __future__ import annotations

from collections.abc import Sequence

from backend.bulk import BulkOutcome, Progress, predict_project
from backend.loader import load_model
from backend.metrics import Metrics
from backend.model import NerBackend
from backend.scheduler import RetrainScheduler
from backend.serving import ModelPool
from backend.settings import BackendSettings, SharedSettings
from labeling_config import parse_config
from nerloop import studio
from nerloop.settings import Settings
from training.projects import project_dir
from training.registry import resolve_round


def backend_settings(settings: Settings) -> BackendSettings:
    """The backend's settings with these shared ones (the server-only fields keep their environment values)."""
    return BackendSettings(**{name: getattr(settings, name) for name in SharedSettings.model_fields})


def predict_tasks(settings: Settings, project_id: int, *, round_name: str = "current", unlabeled_only: bool = False,
                  view: int | None = None, task_ids: Sequence[int] | None = None, chunk: int | None = None,
                  progress: Progress | None = None) -> BulkOutcome:
    """Store one prediction of the project's round (``current`` or a name) on each chosen task that lacks one."""
    record = resolve_round(project_dir(settings.models_dir, project_id), round_name)
    serving = backend_settings(settings)
    loaded: list = []  # the round is loaded on the first task that needs it: a rerun with nothing to do loads none
    metrics = Metrics()
    backend = NerBackend(serving, ModelPool(serving, metrics), RetrainScheduler(serving, metrics), metrics)
    client = studio.connect(settings.studio_url, settings.api_key)
    config = parse_config(studio.project_label_config(client, settings.studio_url, project_id),
                          source=f"project {project_id} label config")

    def annotate(batch: list[dict]) -> list[dict]:
        if not loaded:
            loaded.append(load_model(record.model_dir, record.name, serving))
        return backend.predict_with(loaded[0], batch, config=config, project=str(project_id))

    with studio.studio_errors(settings.studio_url, f"storing predictions of {record.name} in project {project_id}"):
        return predict_project(client, project_id, annotate, record.name, unlabeled_only=unlabeled_only, view=view,
                               task_ids=task_ids, chunk=chunk, progress=progress)
