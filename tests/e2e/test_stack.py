"""`nerloop up` / `nerloop down` as a user runs them: real Label Studio, real backend, real processes."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
from label_studio_sdk import LabelStudio

from stack.services import free_port, process_alive, stop_process
from tests.e2e.conftest import LOGIN, nerloop_env

pytestmark = pytest.mark.e2e


def nerloop(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nerloop", *args], env=env, capture_output=True, text=True,
                          timeout=600)


def test_up_is_idempotent_serves_predictions_and_down_stops_it(studio_template, tiny_base, small_test_file,
                                                               tmp_path):
    work = tmp_path / "work"
    shutil.copytree(studio_template, work / "label-studio")  # skip the 30-80 s first migration
    (work / "studio-login.json").write_text(json.dumps(asdict(LOGIN)))
    env = nerloop_env(tmp_path, None, tiny_base, small_test_file)
    studio_port, backend_port = free_port(), free_port()
    up = ["up", "--studio-port", str(studio_port), "--backend-port", str(backend_port),
          "--tasks", "150", "--gold", "120"]
    first = nerloop(*up, env=env)
    state = work / "stack.json"
    try:
        assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
        pids_after_first = json.loads(state.read_text())
        assert f"Label Studio: http://127.0.0.1:{studio_port}/projects/1\n" in first.stdout
        assert f"login:        {LOGIN.username} / {LOGIN.password}\n" in first.stdout
        assert "imported 150 tasks from train.bio (120 with gold annotations)" in first.stdout
        assert "round-0001: F1 " in first.stdout
        project_file = json.loads((tmp_path / "models" / "project-1" / "project.json").read_text())
        assert Path(project_file["settings"]["test_file"]).parts[-3:] == ("demo", "mit_restaurant", "test.bio")
        assert project_file["settings"]["base_model"] == str(tiny_base)  # recorded by the first round
        assert f"ML backend:   http://127.0.0.1:{backend_port} (serving round-0001)" in first.stdout

        client = LabelStudio(base_url=f"http://127.0.0.1:{studio_port}", api_key=LOGIN.token)
        tasks = list(client.tasks.list(project=1, fields="all"))
        assert len(tasks) == 150
        predicted = [t for t in tasks if any((p if isinstance(p, dict) else p.dict())["model_version"] == "round-0001"
                                             for p in t.predictions or [])]
        assert len(predicted) >= 30  # the 30 unannotated tasks at least

        assert state.stat().st_mode & 0o777 == 0o600  # it holds the login
        again = nerloop(*up, env=env)
        assert again.returncode == 0, again.stderr[-3000:]
        assert f"Label Studio already running at http://127.0.0.1:{studio_port}" in again.stdout
        assert "project 1 reused: 'Restaurant reviews'" in again.stdout
        assert "imported" not in again.stdout and "training the first round" not in again.stdout
        assert len(list(client.tasks.list(project=1))) == 150
        assert f"ML backend already running at http://127.0.0.1:{backend_port}" in again.stdout
        assert len(list(client.ml.list(project=1))) == 1  # the connection is reused, not duplicated
        assert json.loads(state.read_text()) == json.loads(json.dumps(pids_after_first))

        # with nothing exported, the commands that talk to Label Studio use the stack that `up` started
        assert "NERLOOP_STUDIO_URL" not in env and "NERLOOP_STUDIO_API_KEY" not in env
        assert f"run nerloop in {Path.cwd()}: it takes Label Studio's URL and API key from {state}" in first.stdout
        assert LOGIN.token not in first.stdout + first.stderr  # the token is never printed
        said = f"Label Studio http://127.0.0.1:{studio_port} and its API key (from {state})\n"
        predicted = nerloop("predict", "--project", "1", env=env)
        assert predicted.returncode == 0, predicted.stderr[-3000:]
        assert predicted.stderr.startswith(said) and "project 1: " in predicted.stdout
        agreed = nerloop("agreement", "--project", "1", "--json", env=env)
        assert agreed.returncode == 0 and agreed.stderr.startswith(said), agreed.stderr[-3000:]
        other = free_port()  # the environment wins over the record
        elsewhere = nerloop("predict", "--project", "1", env={**env, "NERLOOP_STUDIO_URL": f"http://127.0.0.1:{other}"})
        assert elsewhere.returncode == 1 and f"http://127.0.0.1:{other}" in elsewhere.stderr
        assert "(from " not in elsewhere.stderr
    finally:
        pids = json.loads(state.read_text()) if state.exists() else {}
        down = nerloop("down", env=env)
    assert down.returncode == 0, down.stderr
    assert "ML backend (pid" in down.stdout and "Label Studio (pid" in down.stdout
    assert not process_alive(pids["studio_pid"]) and not process_alive(pids["backend_pid"])
    assert not state.exists()


@pytest.mark.parametrize("busy_service", ["Label Studio", "ML backend"])
def test_up_on_a_busy_port_names_the_port_and_starts_nothing(tmp_path: Path, busy_service: str):
    """Both ports are checked before anything starts: a busy backend port must not leave Label Studio behind."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ports = (port, free_port()) if busy_service == "Label Studio" else (free_port(), port)
        env = nerloop_env(tmp_path, None, tmp_path, tmp_path)
        result = nerloop("up", "--studio-port", str(ports[0]), "--backend-port", str(ports[1]), env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: port {port} on 127.0.0.1 is busy, so {busy_service} cannot start there "
        f"(stop what uses port {port} (or `nerloop down`), or choose another port)")
    assert "starting Label Studio" not in result.stdout
    assert not (tmp_path / "work" / "stack.json").exists()


def test_up_with_no_gold_serves_no_model_and_a_failed_up_can_be_downed(studio_template, tiny_base, small_test_file,
                                                                       tmp_path):
    work = tmp_path / "work"
    shutil.copytree(studio_template, work / "label-studio")
    (work / "studio-login.json").write_text(json.dumps(asdict(LOGIN)))
    env = nerloop_env(tmp_path, None, tiny_base, small_test_file)
    studio_port, backend_port = free_port(), free_port()
    first = nerloop("up", "--studio-port", str(studio_port), "--backend-port", str(backend_port), "--tasks", "20",
                    "--gold", "0", env=env)
    state = work / "stack.json"
    try:
        assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
        assert "imported 20 tasks from train.bio (0 with gold annotations)" in first.stdout
        assert ("no annotated tasks yet, so no first round: annotate some tasks, then press Train in the project's "
                "Settings › Model (or run `nerloop round --project 1`)") in first.stdout
        assert f"ML backend:   http://127.0.0.1:{backend_port} (serving no model yet)" in first.stdout
        assert not (tmp_path / "models" / "project-1" / "current").exists()
        recorded = json.loads(state.read_text())
        # The backend dies; `up` again restarts just the backend on its port and reuses Label Studio.
        stop_process(recorded["backend_pid"])
        again = nerloop("up", "--studio-port", str(studio_port), "--backend-port", str(backend_port), env=env)
        assert again.returncode == 0, again.stderr[-3000:]
        assert f"Label Studio already running at http://127.0.0.1:{studio_port}" in again.stdout
        assert f"starting the ML backend on 127.0.0.1:{backend_port}" in again.stdout
    finally:
        recorded = json.loads(state.read_text()) if state.exists() else {}
        down = nerloop("down", env=env)
    assert down.returncode == 0, down.stderr
    assert not process_alive(recorded["studio_pid"]) and not process_alive(recorded["backend_pid"])
