"""The projects Label Studio has connected to this backend process (``/setup``) and their label configs.

``/setup`` is how Label Studio introduces a project: it validates the config and remembers it here, the fallback when
a ``/predict`` sends none. Webhook events train only projects that are either remembered here or have a folder in the
models registry (``backend.model``), so events naming arbitrary project ids start nothing. At most ``max_projects``
are remembered; a new one makes room by forgetting the least recently used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from core.project import ProjectRef


class ProjectConfigs:
    """Label configs (or None when ``/setup`` sent none) per project id, the least recently used first."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._configs: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, project: ProjectRef, xml: str | None) -> None:
        """Note that ``/setup`` named ``project`` (keeping an earlier config when this one has none)."""
        with self._lock:
            if xml is None and project.name in self._configs:
                xml = self._configs[project.name]
            self._configs[project.name] = xml
            self._configs.move_to_end(project.name)
            while len(self._configs) > self.limit:
                self._configs.popitem(last=False)

    def get(self, project: ProjectRef | None) -> str | None:
        with self._lock:
            return self._configs.get(project.name) if project else None

    def seen(self, project: str) -> bool:
        """Whether ``/setup`` named ``project`` (and it was not forgotten since)."""
        with self._lock:
            return project in self._configs

    def __len__(self) -> int:
        with self._lock:
            return len(self._configs)
