"""Real processes for the end-to-end tests: Label Studio (pip package, SQLite, 127.0.0.1) and the ML backend.

Label Studio's first start migrates its database (30-80 s); the session does that once into a template data dir
(once for all pytest-xdist workers) and every test that needs a server starts one from a copy (about 5-10 s).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from converters.corpus import read_tsv, write_tsv
from nerloop.demo import MIT_DIR
from stack.services import Service, free_port, start_service, stop_process
from stack.studio_launcher import StudioLogin, start_studio
from training.tiny import build_tiny_base_model

ROOT = Path(__file__).resolve().parents[2]
MIT = MIT_DIR
LOGIN = StudioLogin("admin@example.com", "e2e-password-1", "0123456789abcdef0123456789abcdef01234567")

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def studio_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated Label Studio data dir with the admin user (LOGIN) created; no server left running. Under
    pytest-xdist the first worker to ask makes it in the folder all workers share, and the others wait for it."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    folder = shared / "studio-template"
    folder.mkdir(exist_ok=True)
    with (shared / "studio-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "ready").exists():
            shutil.rmtree(folder / "data", ignore_errors=True)
            service = start_studio(folder / "data", LOGIN, port=free_port(), log=folder / "first-start.log",
                                   timeout=400)
            stop_process(service.pid)
            (folder / "ready").touch()
    return folder / "data"


def start_studio_copy(template: Path, where: Path) -> Service:
    data = where / "label-studio"
    shutil.copytree(template, data)
    return start_studio(data, LOGIN, port=free_port(), log=where / "label-studio.log")


@pytest.fixture(scope="module")
def studio(studio_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = start_studio_copy(studio_template, tmp_path_factory.mktemp("studio"))
    yield service
    stop_process(service.pid)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT whose vocabulary covers the MIT corpus (no model hub)."""
    words = [w for name in ("train.bio", "test.bio") for s in read_tsv(MIT / name) for w in s.tokens]
    return build_tiny_base_model(tmp_path_factory.mktemp("tiny-base"), words, hidden=64, layers=2)


@pytest.fixture(scope="session")
def small_test_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fixed test split small enough for CI: the first 120 MIT test sentences."""
    path = tmp_path_factory.mktemp("test-split") / "test.tsv"
    write_tsv(path, read_tsv(MIT / "test.bio")[:120])
    return path


def nerloop_env(work: Path, studio: Service | None, tiny_base: Path, test_file: Path, **extra: str) -> dict[str, str]:
    """The environment a real user would set for the CLI and the backend, pointed at throwaway folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NERLOOP_", "LABEL_STUDIO_"))}
    env.update({
        "NERLOOP_MODELS_DIR": str(work / "models"), "NERLOOP_WORK_DIR": str(work / "work"),
        "NERLOOP_TEST_FILE": str(test_file), "NERLOOP_TRAIN__BASE_MODEL": str(tiny_base),
        "NERLOOP_TRAIN__EPOCHS": "8", "NERLOOP_TRAIN__LEARNING_RATE": "0.003", "NERLOOP_TRAIN__BATCH_SIZE": "8",
        # Tiny models on tiny data are noisy: let every round through the gate so the test sees promotion.
        "NERLOOP_TRAIN__PROMOTE_TOLERANCE": "1.0",
        "NERLOOP_RETRAIN_EVERY": "0", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
    })
    if studio is not None:
        env.update({"NERLOOP_STUDIO_URL": studio.url, "NERLOOP_STUDIO_API_KEY": LOGIN.token})
    env.update(extra)
    return env


def start_backend(env: dict[str, str], log: Path) -> Service:
    port = free_port()
    argv = [sys.executable, "-m", "nerloop", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return start_service("ML backend", argv, env=env, host="127.0.0.1", port=port, log=log, timeout=120)
