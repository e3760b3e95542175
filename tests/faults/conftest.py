"""Real processes for the fault tests: the ``nerloop`` CLI and the ML backend started the way a user starts them,
on a tiny random BERT and a small annotated export (no model hub, no Label Studio unless a test says so)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from converters.corpus import read_tsv, write_tsv
from converters.tasks import tasks_from_sentences
from labeling_config import restaurant_config
from nerloop.demo import MIT_DIR
from stack.services import Service, free_port, start_service, stop_process
from store import projects, registry
from tests.backend.tiny_round import make_round
from training.tiny import build_tiny_base_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An annotated JSON export of 60 MIT Restaurant sentences, a fixed test file of 20 and a tiny base model."""
    folder = tmp_path_factory.mktemp("fault-corpus")
    chosen = read_tsv(MIT_DIR / "train.bio")[:60]
    tasks = tasks_from_sentences(chosen, restaurant_config(), as_="annotations")
    export = folder / "export.json"
    export.write_text(json.dumps([{"id": i + 1, **t} for i, t in enumerate(tasks)]), encoding="utf-8")
    test = read_tsv(MIT_DIR / "test.bio")[:20]
    write_tsv(folder / "test.tsv", test)
    base = build_tiny_base_model(folder / "base", [w for s in chosen + test for w in s.tokens], hidden=32, layers=1)
    return {"export": export, "test": folder / "test.tsv", "base": base}


@pytest.fixture(scope="session")
def template_round(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete round folder (model, manifest) of the restaurant labels, built without training: "pizza" is a Dish."""
    return make_round(tmp_path_factory.mktemp("template"), "round-0001", {"pizza": "B-Dish"},
                      labels=restaurant_config().labels, promote=False)


def served_rounds(models_dir: Path, project: str, template: Path, count: int = 1) -> Path:
    """Give ``project`` a project.json and ``count`` complete rounds, the newest served; returns its registry."""
    projects.open_project(models_dir, project)
    folder = projects.project_dir(models_dir, project)
    for number in range(1, count + 1):
        shutil.copytree(template, folder / f"round-{number:04d}")
    registry.set_current(folder, f"round-{count:04d}")
    return folder


@pytest.fixture
def env(tmp_path: Path, corpus: dict[str, Path]) -> dict[str, str]:
    """The environment a user sets for the CLI and the backend, pointed at this test's folders."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NERLOOP_", "LABEL_STUDIO_"))}
    return {**clean, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "NERLOOP_MODELS_DIR": str(tmp_path / "models"), "NERLOOP_WORK_DIR": str(tmp_path / "work"),
            "NERLOOP_TEST_FILE": str(corpus["test"]), "NERLOOP_TRAIN__BASE_MODEL": str(corpus["base"]),
            "NERLOOP_TRAIN__EPOCHS": "1", "NERLOOP_TRAIN__BATCH_SIZE": "8", "NERLOOP_TRAIN__NUM_THREADS": "1",
            "NERLOOP_TRAIN__LEARNING_RATE": "0.003", "NERLOOP_TRAIN__WARMUP_RATIO": "0",
            # a tiny model on tiny data is noisy: every round passes the gate, so promotion is what is tested
            "NERLOOP_TRAIN__PROMOTE_TOLERANCE": "1.0", "NERLOOP_RETRAIN_EVERY": "0"}


def nerloop(env: dict[str, str], *args: str, code: int = 0, **popen) -> subprocess.CompletedProcess[str]:
    """Run ``python -m nerloop ARGS`` and check its exit code."""
    result = subprocess.run([sys.executable, "-m", "nerloop", *args], env=env, capture_output=True, text=True,
                            timeout=300, cwd=ROOT, **popen)
    assert result.returncode == code, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def start_round(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen:
    """Start ``nerloop round ARGS`` in the background, its output in ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "nerloop", "round", *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=ROOT)


def wait_for(check: Callable[[], object], timeout: float, what: str, *, alive: subprocess.Popen | None = None,
             log: Path | None = None) -> object:
    """Poll ``check`` until it returns something true; fail naming ``what`` (and the log) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if alive is not None and alive.poll() is not None:
            raise AssertionError(f"exited ({alive.returncode}) before {what}: {log.read_text()[-3000:] if log else ''}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}: {log.read_text()[-3000:] if log else ''}")


def checkpoint_written(registry_dir: Path) -> list[Path]:
    """The checkpoints a round in training has saved in its staging folder (none before its first evaluation)."""
    return list(registry_dir.glob(".staging-*/checkpoints/checkpoint-*"))


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """Start ``nerloop serve`` with an environment; every backend started is stopped at the end."""
    started: list[Service] = []

    def start(env: dict[str, str], name: str = "backend") -> Service:
        port = free_port()
        argv = [sys.executable, "-m", "nerloop", "serve", "--host", "127.0.0.1", "--port", str(port)]
        service = start_service("ML backend", argv, env=env, host="127.0.0.1", port=port,
                                log=tmp_path / f"{name}.log", timeout=120)
        started.append(service)
        return service

    yield start
    for service in started:
        stop_process(service.pid)


def health(service: Service) -> dict:
    return httpx.get(f"{service.url}/health", timeout=10).json()
