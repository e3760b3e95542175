"""Fresh suggestions after a promotion: when a project's served round is replaced by a newly promoted one, the
stored predictions of its unlabelled tasks are refreshed in the background, and then the project's Data Manager tab
"nerloop: most useful first" orders by the new round's scores (``backend.order_tab``), so *Label All Tasks* there
opens the tasks the new round finds most useful to label first.

On with ``NERLOOP_REFRESH_PREDICTIONS=true`` (``nerloop up`` sets it) and a Label Studio URL and API key. One
thread per project; a newer promotion of the same project stops the older refresh first. The refresh never holds
``/predict`` for more than one forward pass (it predicts 64 tasks at a time through the same model), skips
tasks that already have the new round's prediction (``inference.bulk``), and stops between chunks when the backend
shuts down. The first load of a project's model is not a promotion and starts nothing: ``nerloop predict`` does
that job.

A refresh that has not finished survives the backend: it leaves ``refresh.json`` (the round it refreshes with) in
the project's folder until it completes, so a backend killed, stopped or restarted mid-refresh resumes it when it
starts again, with the round served then; tasks that already hold that round's prediction are skipped, so every
task ends with exactly one.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from backend.order_tab import OrderTabKeeper
from backend.settings import BackendSettings
from core.project import ProjectRef
from inference.bulk import predict_project
from inference.loader import LoadedRound
from store.projects import is_studio_project, list_projects, project_dir, suggestions_slot
from store.registry import write_json
from store.studio import Studio

log = logging.getLogger(__name__)

Annotate = Callable[..., list[dict]]  # NerBackend.predict_with
LoadServed = Callable[[str], LoadedRound | None]  # ModelPool.get with the backend's load wait
PENDING_FILE = "refresh.json"


def pending_refreshes(models_dir: str | Path) -> dict[str, str]:
    """project → the round its unfinished refresh was storing (a refresh leaves ``refresh.json`` until it ends)."""
    found = {}
    for name in filter(is_studio_project, list_projects(models_dir)):
        marker = project_dir(models_dir, name) / PENDING_FILE
        try:
            found[name] = str(json.loads(marker.read_text(encoding="utf-8"))["version"])
        except FileNotFoundError:
            continue
        except (OSError, ValueError, KeyError, TypeError) as err:  # a marker cut short: resume all the same
            log.warning("project %s: %s is unreadable (%s); resuming its refresh", name, marker, err)
            found[name] = "unknown"
    return found


class PredictionRefresher:
    def __init__(self, settings: BackendSettings, annotate: Annotate, tabs: OrderTabKeeper | None = None) -> None:
        self.settings = settings
        self.annotate = annotate
        self.tabs = tabs
        self._runs: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.settings.refresh_predictions and self.settings.api_key and self.settings.studio_url)

    def promoted(self, project: str, model: LoadedRound) -> None:
        """A new round of ``project`` is served: refresh its unlabelled tasks' predictions in the background."""
        if not self.enabled or ProjectRef.parse(project).studio_id is None:
            return
        stop = threading.Event()
        thread = threading.Thread(target=self._run, args=(project, model, stop), name=f"refresh-{project}",
                                  daemon=True)
        with self._lock:
            previous = self._runs.get(project)
            if previous is not None:
                previous[1].set()
            self._runs[project] = (thread, stop)
        thread.start()

    def resume(self, load: LoadServed) -> None:
        """Start again every refresh that a previous run of the backend left unfinished, each with the round its
        project serves now (loaded in the background)."""
        if not self.enabled:
            return
        for project, version in pending_refreshes(self.settings.models_dir).items():
            log.info("project %s: resuming the refresh of its predictions (left unfinished with %s)", project, version)
            threading.Thread(target=self._resume, args=(project, load), name=f"resume-{project}", daemon=True).start()

    def _resume(self, project: str, load: LoadServed) -> None:
        model = load(project)
        if model is None:
            log.warning("project %s: no round to resume the refresh with; run `nerloop predict --project %s` once "
                        "it serves one", project, project)
            return
        self.promoted(project, model)

    def _run(self, project: str, model: LoadedRound, stop: threading.Event) -> None:
        marker = project_dir(self.settings.models_dir, project) / PENDING_FILE
        try:
            studio = Studio.connect(self.settings.studio_url, self.settings.api_key)
            config = studio.label_config(int(project))
            with suggestions_slot(self.settings.models_dir, project, f"the backend's refresh with {model.version}",
                                  stop=stop) as held:
                if not held:
                    return
                write_json(marker, {"version": model.version})
                outcome = predict_project(
                    studio, int(project), lambda tasks: self.annotate(model, tasks, config=config, project=project),
                    model.version, unlabeled_only=True, batch=64, stop=stop)
                if not outcome.stopped:
                    marker.unlink(missing_ok=True)
                    if self.tabs is not None:  # the tab orders by the new round's scores from now on
                        self.tabs.keep(int(project), model.version)
            log.info("project %s: refreshed %d unlabelled task(s) with %s%s", project, outcome.predicted,
                     model.version, " (stopped)" if outcome.stopped else "")
        except Exception as err:  # Label Studio down, a revoked key: the served model is unaffected
            log.warning("project %s: could not refresh the predictions with %s (%s); run `nerloop predict "
                        "--project %s` later", project, model.version, err, project)

    def shutdown(self, timeout: float = 10.0) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for _thread, stop in runs:
            stop.set()
        for thread, _stop in runs:
            thread.join(timeout)
