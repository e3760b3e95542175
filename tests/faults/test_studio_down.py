"""Label Studio down when a round starts, and gone in the middle of its export."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from labeling_config import RESTAURANT_CONFIG
from stack.services import free_port
from store import registry
from tests.faults.conftest import health, served_rounds, wait_for


class ExportServer(ThreadingHTTPServer):
    """The few Label Studio API calls a round makes (key check, project, export snapshot, download). With
    ``drop`` set, the download stops after its first bytes and the connection closes: a server gone mid-export."""

    drop = True
    export: bytes = b""


class Handler(BaseHTTPRequestHandler):
    server: ExportServer

    def log_message(self, *args: object) -> None:
        pass

    def reply(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        if path == "/api/projects":
            self.reply({"count": 0, "next": None, "previous": None, "results": []})
        elif path == "/api/projects/5":
            self.reply({"id": 5, "title": "reviews", "label_config": RESTAURANT_CONFIG.read_text()})
        elif path == "/api/projects/5/exports/1":
            self.reply({"id": 1, "status": "completed"})
        elif path == "/api/projects/5/exports/1/download":
            body = self.server.export if "JSON" in self.path else b"-DOCSTART- -X- O\n"
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:100] if self.server.drop else body)
            self.wfile.flush()
            if self.server.drop:
                self.close_connection = True
        elif path == "/api/ml":
            self.reply([])
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.reply({"id": 1, "status": "completed"})


@pytest.fixture
def studio_port() -> int:
    return free_port()


@pytest.fixture
def export_server(studio_port: int, corpus: dict[str, Path]) -> Iterator[Callable[[], ExportServer]]:
    servers: list[ExportServer] = []

    def start() -> ExportServer:
        server = ExportServer(("127.0.0.1", studio_port), Handler)
        server.export = corpus["export"].read_bytes()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def train(served, project: str) -> dict:
    """Press Train for ``project`` and wait for the round to end; its outcome as /health shows it."""
    assert httpx.post(f"{served.url}/webhook", json={"action": "START_TRAINING", "project": {"id": int(project)}}
                      ).json()["status"] == "started"
    wait_for(lambda: not health(served)["projects"][project]["round_running"], 240, "the round to end")
    return health(served)["projects"][project]


def predicted_by(served) -> str:
    answer = httpx.post(f"{served.url}/predict", timeout=60, json={
        "project": "5.1", "label_config": RESTAURANT_CONFIG.read_text(),
        "tasks": [{"id": 1, "data": {"text": "pizza"}}]})
    return answer.json()["results"][0]["model_version"]


def test_studio_down_at_round_start_or_mid_export_fails_the_round_and_the_next_trigger_retries(
        tmp_path, env, backend, template_round, studio_port, export_server):
    """Fault: the Train button pressed (1) while nothing listens at Label Studio's URL, (2) while the export's
    download stops after 100 bytes and the connection closes (a server standing in for Label Studio: a real one
    cannot be stopped inside one small download). Outcome: each round fails naming Label Studio's URL; the backend
    keeps serving round-0001 meanwhile; the next press retries, and once the export comes whole the round runs."""
    models = tmp_path / "models"
    registry_dir = served_rounds(models, "5", template_round)
    url = f"http://127.0.0.1:{studio_port}"
    served = backend({**env, "NERLOOP_STUDIO_URL": url, "NERLOOP_STUDIO_API_KEY": "a-token"})

    down = train(served, "5")["last_round"]
    assert (down["status"], down["error"]) == ("failed", (
        f"{url}: checking the API key failed: cannot reach Label Studio (ConnectError) (start it (`nerloop up`) or "
        "set NERLOOP_STUDIO_URL to where it runs)"))
    assert predicted_by(served) == "round-0001"

    studio = export_server()
    cut = train(served, "5")["last_round"]
    assert (cut["status"], cut["error"]) == ("failed", (
        f"{url}: downloading the JSON export of project 5 failed: cannot reach Label Studio (RemoteProtocolError) "
        "(start it (`nerloop up`) or set NERLOOP_STUDIO_URL to where it runs)"))
    assert predicted_by(served) == "round-0001"
    assert [r.name for r in registry.list_rounds(registry_dir)] == ["round-0001"]

    studio.drop = False
    done = train(served, "5")
    assert (done["last_round"]["status"], done["last_round"]["round"]) == ("promoted", "round-0002")
    assert [r.name for r in registry.list_rounds(registry_dir)] == ["round-0001", "round-0002"]
