"""The backend's side of the Data Manager tab "nerloop: most useful first" (``store.order_view``): when Label
Studio connects a project (``/setup``) the tab is created or corrected, and the project's ``model_version`` is
pointed at the round the backend serves once the project holds predictions of it (Label Studio stores those it
fetches from ``/predict``), so the tab orders by that round's prediction scores; the refresh after a promotion does
the same once the new round's predictions are stored (``backend.refresh``).

On when the backend has a Label Studio API key (``NERLOOP_STUDIO_API_KEY``) and ``NERLOOP_ORDER_TAB`` is true (the
default). Best effort, in a background thread, once per project and served round in a process: ``/setup`` answers
at once whatever Label Studio does, and a Label Studio that cannot be reached costs a warning in the log.
"""

from __future__ import annotations

import logging
import threading
import time

from backend.settings import BackendSettings
from core.project import ProjectRef
from inference.predictions import NO_MODEL
from store.order_view import keep_order_view
from store.studio import Studio

log = logging.getLogger(__name__)
RETRY_AFTER = 60.0  # seconds before a /setup tries again what did not take (Label Studio down, no predictions yet)


class OrderTabKeeper:
    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        self._kept: set[tuple[str, str]] = set()  # (project, version) kept, or being kept, by this process
        self._retry_at: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.settings.order_tab and self.settings.api_key and self.settings.studio_url)

    def connected(self, project: ProjectRef | None, version: str) -> None:
        """Label Studio connected ``project``, which serves ``version``: keep its tab, in the background."""
        if not self.enabled or project is None or project.studio_id is None:
            return
        key = (str(project.studio_id), version)
        with self._lock:
            if key in self._kept or time.monotonic() < self._retry_at.get(key, 0.0):
                return
            self._kept.add(key)
        threading.Thread(target=self.keep, args=(project.studio_id, None if version == NO_MODEL else version),
                         name=f"order-tab-{project.studio_id}", daemon=True).start()

    def keep(self, project_id: int, version: str | None) -> None:
        """Keep the tab now (the caller's thread); a failure is logged, never raised."""
        if not self.enabled:
            return
        key = (str(project_id), version or NO_MODEL)
        try:
            kept = keep_order_view(Studio.connect(self.settings.studio_url, self.settings.api_key), project_id,
                                   version)
        except Exception as err:  # Label Studio down, a revoked key: predictions are unaffected
            kept = None
            log.warning("project %s: could not keep the Data Manager tab 'nerloop: most useful first' (%s)",
                        project_id, err)
        if kept is None or kept.version != version:  # try again at a later /setup, at most once a minute
            with self._lock:
                self._retry_at[key] = time.monotonic() + RETRY_AFTER
                self._kept.discard(key)
