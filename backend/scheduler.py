"""The retraining scheduler: which project's round runs when. At most one round per project; triggers during a
round coalesce into one follow-up; with the ``local`` executor rounds of different projects run one after another,
with ``ray`` up to ``ray.parallel_rounds`` of them at once (their training shares the cluster, not this machine).

A round is ``round_command + ["--project", ID]`` with the shared settings in its **environment**
(``BackendSettings.round_env``), its output written to ``<log_dir>/project-<ID>-<timestamp>.log``. Runner threads
(one, or ``ray.parallel_rounds``) take the projects whose round was requested from a first-in first-out queue (a
project is in it at most once), run each round, record the exit code and queue the follow-up if one was requested
meanwhile. With the ``local`` executor a ``flock`` on ``<log_dir>/rounds.lock`` also runs rounds one after another
across worker processes (they share the cores or the GPU; a round from the CLI waits on the models directory's own
rounds lock).

What it holds is bounded: at most ``max_projects`` projects are tracked (event counters, queued rounds, the last 20
outcomes each); a new project makes room by forgetting the least recently used idle one, and when every tracked
project has a round running or queued the request is answered ``"full"`` and nothing is started. A failed round
changes nothing that is served: only a round that promotes itself moves its project's ``current`` pointer.
``retrain_every`` is the project's own (``project.json``) when it sets one, else ``NERLOOP_RETRAIN_EVERY``.
"""

from __future__ import annotations

import fcntl
import logging
import subprocess
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from backend.prometheus import Metrics
from backend.settings import BackendSettings
from core.errors import NerloopError
from store.projects import read_project

log = logging.getLogger(__name__)


@dataclass
class ProjectSchedule:
    """What the runner knows about one project's rounds."""

    events: int = 0  # annotation events since the last round started
    active: bool = False  # a round is queued or running
    process: subprocess.Popen | None = None
    pending: bool = False  # a follow-up round was requested while one ran
    started: int = 0
    history: list[dict] = field(default_factory=list)  # {"exit_code", "log", "seconds"} per finished round


class RetrainScheduler:
    """Counts annotation events per project and starts rounds; every public method returns at once."""

    def __init__(self, settings: BackendSettings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self._projects: OrderedDict[str, ProjectSchedule] = OrderedDict()  # least recently used first
        self._queue: deque[str] = deque()  # projects whose round waits for the runner
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._runners: list[threading.Thread] = []
        self._parallel = settings.ray.parallel_rounds if settings.executor == "ray" else 1
        self._stopping = False

    def annotation_event(self, project: str) -> str:
        """Count one annotation; start (or queue) a round every ``retrain_every`` events.

        Returns ``"counted"``, ``"started"``, ``"queued"`` (a follow-up of a running round) or ``"full"``."""
        with self._lock:
            state = self._track(project)
            if state is None:
                return "full"
            state.events += 1
            every = self.retrain_every(project)
            if every == 0 or state.events < every:
                return "counted"
            return self._request(project, state)

    def retrain_every(self, project: str) -> int:
        """The project's own ``retrain_every`` (its project.json), else the backend's."""
        try:
            record = read_project(self.settings.models_dir, project)
        except NerloopError as err:
            log.warning("project %s: %s; using NERLOOP_RETRAIN_EVERY", project, err)
            record = None
        chosen = record.settings.retrain_every if record else None
        return self.settings.retrain_every if chosen is None else chosen

    def start_training(self, project: str) -> str:
        """The Train button: start a round now, or queue one follow-up if a round is running (or ``"full"``)."""
        with self._lock:
            state = self._track(project)
            return "full" if state is None else self._request(project, state)

    def tracked(self) -> int:
        """How many projects are tracked now (at most ``max_projects``)."""
        with self._lock:
            return len(self._projects)

    def _track(self, project: str) -> ProjectSchedule | None:
        """The project's schedule, made (forgetting the least recently used idle project when full) if new; None
        when every tracked project has a round running or queued (caller holds ``_lock``)."""
        state = self._projects.get(project)
        if state is not None:
            self._projects.move_to_end(project)
            return state
        if len(self._projects) >= self.settings.max_projects:
            idle = next((name for name, s in self._projects.items() if not (s.active or s.pending)), None)
            if idle is None:
                return None
            del self._projects[idle]
        state = self._projects[project] = ProjectSchedule()
        return state

    def state(self, project: str) -> ProjectSchedule | None:
        with self._lock:
            return self._projects.get(project)

    def busy(self) -> bool:
        with self._lock:
            return any(state.active or state.pending for state in self._projects.values())

    def _request(self, project: str, state: ProjectSchedule) -> str:
        if state.active:
            state.pending = True
            return "queued"
        self._start(project, state)
        return "started"

    def _start(self, project: str, state: ProjectSchedule) -> None:
        """Mark the project busy and queue its round for the runner thread (caller holds ``_lock``)."""
        if self._stopping:
            return
        state.events = 0
        state.pending = False
        state.active = True
        state.started += 1
        self._queue.append(project)
        while len(self._runners) < self._parallel:  # started with the first round; idle ones wait on _wake
            name = "rounds" if self._parallel == 1 else f"rounds-{len(self._runners) + 1}"
            runner = threading.Thread(target=self._work, name=name, daemon=True)
            self._runners.append(runner)
            runner.start()
        self._wake.notify()

    def _work(self) -> None:
        """A runner: one queued round at a time, until ``shutdown``."""
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                project = self._queue.popleft()
                state = self._projects[project]  # an active project is never forgotten
                number = state.started
            self._run(project, state, number)

    def _run(self, project: str, state: ProjectSchedule, number: int) -> None:
        began = time.monotonic()
        code: int | None = None
        log_path = "-"
        try:
            code, log_path = self._spawn_and_wait(project, state, number)
        except Exception:  # e.g. an unwritable log dir: the project must not stay "busy" forever
            log.exception("project %s: the round could not run", project)
        self._finish(project, state, code, log_path, time.monotonic() - began)

    def _spawn_and_wait(self, project: str, state: ProjectSchedule, number: int) -> tuple[int | None, str]:
        log_dir = self.settings.round_log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"project-{project}-{time.strftime('%Y%m%d-%H%M%S')}-{number}.log"
        command = [*self.settings.round_command, "--project", project]
        with (log_dir / "rounds.lock").open("a") as lock_file, log_path.open("ab") as out:
            if self._parallel == 1:
                fcntl.flock(lock_file, fcntl.LOCK_EX)  # waits while another project's (or worker's) round runs
            try:
                process = subprocess.Popen(command, env=self.settings.round_env(), stdout=out,
                                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           start_new_session=True)
            except OSError as exc:
                out.write(f"cannot start the round command {command[0]!r}: {exc}\n".encode())
                log.error("project %s: cannot start the round (%s); see %s", project, exc, log_path)
                return None, str(log_path)
            with self._lock:
                state.process = process
            self.metrics.inc("nerloop_rounds_started_total")
            log.info("project %s: round %d started (pid %d), log %s", project, number, process.pid, log_path)
            return process.wait(), str(log_path)

    def _finish(self, project: str, state: ProjectSchedule, code: int | None, log_path: str, seconds: float) -> None:
        with self._lock:
            state.active = False
            state.process = None
            state.history.append({"exit_code": code, "log": log_path, "seconds": round(seconds, 3)})
            del state.history[:-20]
            self.metrics.inc("nerloop_rounds_succeeded_total" if code == 0 else "nerloop_rounds_failed_total")
            if code == 0:
                log.info("project %s: round finished", project)
            else:
                log.error("project %s: round failed (exit code %s); the served model is unchanged; see %s",
                          project, code, log_path)
            if state.pending:
                self._start(project, state)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop running rounds (SIGTERM, then SIGKILL) so no orphan outlives the server."""
        with self._lock:
            self._stopping = True
            for name in self._queue:
                self._projects[name].active = False
            self._queue.clear()
            for state in self._projects.values():
                state.pending = False
            self._wake.notify_all()
            running = [state.process for state in self._projects.values() if state.process is not None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
