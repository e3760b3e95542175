from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from labeling_config.config import render_config
from tests.backend.tiny_round import make_round

HERE = Path(__file__).parent
REPO = HERE.parent.parent
WORDS = {"pizza": "B-Dish", "thai": "B-Cuisine", "noodle": "B-Dish", "soup": "I-Dish", "boston": "B-Location",
         "maybe": ("B-Dish", "B-Cuisine")}
CONFIG = render_config(["Cuisine", "Dish", "Location"], from_name="ents", to_name="review", data_key="review")


@pytest.fixture(scope="session")
def template_round(tmp_path_factory) -> Path:
    return make_round(tmp_path_factory.mktemp("template"), "round-0001", WORDS)


PROJECT = "1"  # the Label Studio project id whose registry the fixture fills


@pytest.fixture
def models_dir(tmp_path, template_round) -> Path:
    """A models directory where project 1 serves round-0001 (``models/project-1/round-0001``)."""
    import shutil

    models = tmp_path / "models"
    (models / f"project-{PROJECT}").mkdir(parents=True)
    shutil.copytree(template_round, models / f"project-{PROJECT}" / "round-0001")
    (models / f"project-{PROJECT}" / "current").write_text("round-0001\n")
    return models


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, url: str, process: subprocess.Popen, log: Path) -> None:
        self.url, self.process, self.log = url, process, log

    def wait_version(self, version: str, timeout: float = 30.0, project: str = PROJECT) -> None:
        """Wait until /health says ``project`` is served ``version`` (/setup starts the project's load)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            httpx.post(f"{self.url}/setup", json={"project": f"{project}.1700000000"}, timeout=5)
            served = httpx.get(f"{self.url}/health", timeout=5).json()["projects"].get(project, {})
            if served.get("model_version") == version:
                return
            time.sleep(0.2)
        raise AssertionError(f"never served {version}; log:\n{self.log.read_text()[-3000:]}")


@pytest.fixture
def start_server(tmp_path):
    started: list[Server] = []

    def start(env: dict[str, str]) -> Server:
        port = free_port()
        log = tmp_path / f"server-{port}.log"
        full_env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{HERE}", **env}
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "backend.app:create_app_from_env",
                 "--host", "127.0.0.1", "--port", str(port)], env=full_env, stdout=out, stderr=subprocess.STDOUT,
                cwd=REPO)
        server = Server(f"http://127.0.0.1:{port}", process, log)
        started.append(server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{server.url}/health", timeout=2)
                return server
            except httpx.TransportError:
                assert process.poll() is None, log.read_text()
                time.sleep(0.2)
        raise AssertionError(f"server did not start; log:\n{log.read_text()}")

    yield start
    for server in started:
        server.process.terminate()
        server.process.wait(15)
