"""The local stack's two services, Label Studio and the ML backend: started, or reused when ``work_dir/stack.json``
names a live and healthy one, recorded as each comes up, waited for, and stopped.

Both ports are checked before anything starts (``LocalStack.open``), so a busy backend port never leaves a new
Label Studio behind. The backend is started as a command (``python -m nerloop serve``), not imported.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

import httpx

from core.errors import StudioError
from stack.record import StackInfo, login_path, read_state, save_state, state_path
from stack.services import Service, process_alive, require_free_port, start_service, stop_process
from stack.studio_launcher import StudioLogin, load_or_create_login, start_studio
from store.settings import SharedSettings

log = logging.getLogger(__name__)
Say = Callable[[str], None]


@dataclass(frozen=True)
class LocalStack:
    """One work dir's stack: its login, what a previous ``up`` recorded, and which of that still runs."""

    work_dir: Path
    host: str
    studio_port: int
    backend_port: int
    login: StudioLogin
    previous: StackInfo | None
    studio_running: bool
    backend_running: bool

    @classmethod
    def open(cls, work_dir: Path, *, host: str, studio_port: int, backend_port: int) -> LocalStack:
        """Load (or create) the login, read the record, and check the port of each service to be started."""
        work = work_dir.resolve()
        login = load_or_create_login(login_path(work))
        previous = read_state(work)
        studio_running = previous is not None and _alive(previous.studio_pid, previous.studio_url)
        backend_running = previous is not None and _alive(previous.backend_pid, previous.backend_url)
        for name, port, reused in (("Label Studio", studio_port, studio_running),
                                   ("ML backend", backend_port, backend_running)):
            if not reused:
                require_free_port(name, host, port)
        return cls(work, host, studio_port, backend_port, login, previous, studio_running, backend_running)

    def record(self, info: StackInfo) -> StackInfo:
        return save_state(self.work_dir, info)

    def start_studio(self, say: Say = log.info) -> StackInfo:
        """Label Studio, reused or started; recorded together with a backend that still runs."""
        previous = self.previous if self.studio_running else None
        if previous is not None:
            say(f"Label Studio already running at {previous.studio_url} (pid {previous.studio_pid})"
                + _other_port(previous.studio_url, self.studio_port))
            service = Service("Label Studio", previous.studio_pid, self.studio_port, previous.studio_url, Path())
        else:
            say(f"starting Label Studio on {self.host}:{self.studio_port} (first start migrates, ~30 s) ...")
            service = start_studio(self.work_dir / "label-studio", self.login, host=self.host, port=self.studio_port,
                                   log=self.work_dir / "logs" / "label-studio.log")
        backend = ({"backend_url": self.previous.backend_url, "backend_pid": self.previous.backend_pid}
                   if self.backend_running and self.previous else {})
        return self.record(StackInfo(service.url, self.login.username, self.login.password, service.pid, **backend))

    def start_backend(self, info: StackInfo, settings: SharedSettings, say: Say = log.info) -> StackInfo:
        """The ML backend, reused or started with ``settings`` (and the refresh after a promotion on); recorded."""
        previous = self.previous if self.backend_running else None
        if previous is not None and previous.backend_url and previous.backend_pid:
            say(f"ML backend already running at {previous.backend_url} (pid {previous.backend_pid})"
                + _other_port(previous.backend_url, self.backend_port))
            service = Service("ML backend", previous.backend_pid, self.backend_port, previous.backend_url, Path())
        else:
            say(f"starting the ML backend on {self.host}:{self.backend_port} ...")
            # a promoted round refreshes the unlabelled tasks' suggestions, so "sort by prediction score" stays current
            env = dict(os.environ, **backend_env(settings), NERLOOP_REFRESH_PREDICTIONS="true")
            argv = [sys.executable, "-m", "nerloop", "serve", "--host", self.host, "--port", str(self.backend_port)]
            service = start_service("ML backend", argv, env=env, host=self.host, port=self.backend_port,
                                    log=self.work_dir / "logs" / "backend.log", timeout=120)
        return self.record(replace(info, backend_url=service.url, backend_pid=service.pid))


def stop_stack(work_dir: Path, say: Say = log.info) -> bool:
    """Stop the backend and Label Studio that ``work_dir``'s record names; False when nothing was recorded."""
    info = read_state(work_dir)
    if info is None:
        return False
    for name, pid in (("ML backend", info.backend_pid), ("Label Studio", info.studio_pid)):
        if pid is not None:
            say(f"{name} (pid {pid}): {'stopped' if stop_process(pid) else 'was not running'}")
    state_path(work_dir).unlink()
    return True


def backend_env(settings: SharedSettings) -> dict[str, str]:
    """The settings the backend (and the rounds it starts) need, as NERLOOP_* variables."""
    return settings.shared_env()


def wait_until_serving(backend_url: str, project_id: int, model_version: str, *, timeout: float = 180.0) -> None:
    """Wait until the backend has loaded ``model_version`` for the project (``/setup`` starts the load)."""
    deadline = time.monotonic() + timeout
    served = None
    while time.monotonic() < deadline:
        try:
            httpx.post(f"{backend_url}/setup", json={"project": str(project_id)}, timeout=3)
            body = httpx.get(f"{backend_url}/health", timeout=2).json()
            served = body.get("projects", {}).get(str(project_id), {}).get("model_version")
        except (httpx.HTTPError, ValueError):
            served = None
        if served == model_version:
            return
        time.sleep(0.5)
    raise StudioError(f"the ML backend still serves {served!r} to project {project_id}, not {model_version!r}, "
                      f"after {timeout:.0f} s", where=backend_url, hint="read the backend log in the work dir's logs/ "
                                                                       "folder")


def _alive(pid: int | None, url: str | None) -> bool:
    return pid is not None and url is not None and process_alive(pid) and _healthy(url)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _other_port(url: str, asked: int) -> str:
    port = urlparse(url).port
    return "" if port == asked else f"; not moved to port {asked}: run `nerloop down` first to change ports"
