"""A real uvicorn process: webhooks start rounds (a tiny round command), new rounds are hot-swapped in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import httpx

from tests.backend.conftest import CONFIG, HERE, REPO

ROUND = json.dumps([sys.executable, str(HERE / "tiny_round.py")])
TASKS = [{"id": i, "data": {"review": "thai pizza in boston"}} for i in range(20)]


def env_for(models_dir, tmp_path, **extra) -> dict[str, str]:
    return {"NERLOOP_MODELS_DIR": str(models_dir), "NERLOOP_ROUND_COMMAND": ROUND, "NERLOOP_RETRAIN_EVERY": "2",
            "NERLOOP_LOG_DIR": str(tmp_path / "logs"), "LABEL_STUDIO_URL": "http://ls.example:8080",
            "LABEL_STUDIO_API_KEY": "k3y-never-in-argv", "TINY_ROUND_RECORD": str(tmp_path / "record.jsonl"),
            **extra}


def hook(server, action: str, project: int = 1) -> dict:
    response = httpx.post(f"{server.url}/webhook", json={"action": action, "project": {"id": project, "title": "x"},
                                                         "annotation": {"id": 1}}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def metric(server, name: str) -> float:
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_annotations_start_a_round_that_is_then_served(models_dir, tmp_path, start_server):
    server = start_server(env_for(models_dir, tmp_path))
    server.wait_version("round-0001")
    first = hook(server, "ANNOTATION_CREATED")
    assert first == {"status": "counted", "action": "ANNOTATION_CREATED", "project": "1",
                     "detail": "1/2 annotation events towards the next round"}
    assert hook(server, "ANNOTATION_UPDATED")["status"] == "started"
    server.wait_version("round-0002")
    result = httpx.post(f"{server.url}/predict", json={"tasks": TASKS[:1], "label_config": CONFIG,
                                                       "project": "1.1700000000"}).json()
    assert result["results"][0]["model_version"] == "round-0002"
    record = [json.loads(line) for line in (tmp_path / "record.jsonl").read_text().splitlines()]
    assert record == [{"argv": ["--project", "1"], "key": "k3y-never-in-argv", "url": "http://ls.example:8080"}]
    logs = list((tmp_path / "logs").glob("project-1-*.log"))
    assert len(logs) == 1 and logs[0].read_text() == "promoted round-0002\n"
    assert "k3y-never-in-argv" not in server.log.read_text()
    wait_for(lambda: metric(server, "nerloop_rounds_succeeded_total") == 1)


def test_a_failing_round_leaves_the_old_model(models_dir, tmp_path, start_server):
    server = start_server(env_for(models_dir, tmp_path, TINY_ROUND_FAIL="1"))
    server.wait_version("round-0001")
    assert hook(server, "START_TRAINING")["status"] == "started"
    wait_for(lambda: metric(server, "nerloop_rounds_failed_total") == 1)
    assert httpx.get(f"{server.url}/health").json()["projects"]["1"]["model_version"] == "round-0001"
    assert "round failed (exit code 3)" in server.log.read_text()


def test_triggers_during_a_round_coalesce_into_one_follow_up(models_dir, tmp_path, start_server):
    server = start_server(env_for(models_dir, tmp_path, TINY_ROUND_SLEEP="2"))
    server.wait_version("round-0001")
    statuses = [hook(server, "START_TRAINING")["status"] for _ in range(4)]
    statuses += [hook(server, "ANNOTATION_CREATED")["status"] for _ in range(4)]
    assert statuses == ["started", "queued", "queued", "queued", "counted", "queued", "queued", "queued"]
    wait_for(lambda: metric(server, "nerloop_rounds_succeeded_total") == 2)
    time.sleep(1.5)
    assert metric(server, "nerloop_rounds_started_total") == 2
    server.wait_version("round-0003")


def test_unknown_and_project_less_events_are_ignored(models_dir, tmp_path, start_server):
    server = start_server(env_for(models_dir, tmp_path))
    reply = httpx.post(f"{server.url}/webhook", json={"action": "PROJECT_UPDATED", "project": {"id": 1}}).json()
    assert reply["status"] == "ignored"
    assert reply["detail"].startswith("'PROJECT_UPDATED' does not train")
    reply = httpx.post(f"{server.url}/webhook", json={"action": "START_TRAINING"}).json()
    assert reply["status"] == "ignored"
    assert reply["detail"].startswith("no project id in the event")
    assert httpx.post(f"{server.url}/webhook", json={"project": 1}).status_code == 422


def test_hot_swap_never_fails_in_flight_requests(models_dir, tmp_path, start_server):
    server = start_server(env_for(models_dir, tmp_path, TINY_ROUND_SLEEP="0.5"))
    server.wait_version("round-0001")
    seen: list[str] = []
    errors: list[str] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                response = http.post(f"{server.url}/predict", json={"tasks": TASKS, "label_config": CONFIG,
                                                                    "project": 1})
                if response.status_code != 200 or len(response.json()["results"]) != len(TASKS):
                    errors.append(response.text)
                    continue
                seen.extend({r["model_version"] for r in response.json()["results"]})

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    hook(server, "START_TRAINING")
    server.wait_version("round-0002")
    deadline = time.monotonic() + 60  # requests already in flight finish on round-0001; a later one sees round-0002
    while "round-0002" not in seen and not errors and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {"round-0001", "round-0002"} <= set(seen)


def test_tricky_texts_over_real_http_give_exact_offsets(models_dir, tmp_path, start_server):
    """Punctuation, unicode, repeated words, same-type neighbours and a bad task, sent as Label Studio sends them."""
    server = start_server(env_for(models_dir, tmp_path))
    server.wait_version("round-0001")
    texts = ["I want thai pizza, pizza in Boston.", "pizza pizza", "crème brûlée (noodle soup) near boston!!",
             "“thai” food… in boston?", '"thai" food... in boston?']
    tasks = [{"id": i, "data": {"review": t}} for i, t in enumerate(texts)] + [{"id": 9, "data": {"review": ""}}]
    response = httpx.post(f"{server.url}/predict", json={"tasks": tasks, "label_config": CONFIG, "project": "1.17"},
                          timeout=30)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    spans = [[(r["value"]["start"], r["value"]["end"], r["value"]["text"], r["value"]["labels"][0])
              for r in result["result"]] for result in results]
    assert spans == [
        [(7, 11, "thai", "Cuisine"), (12, 17, "pizza", "Dish"), (19, 24, "pizza", "Dish"),
         (28, 34, "Boston", "Location")],
        [(0, 5, "pizza", "Dish"), (6, 11, "pizza", "Dish")],
        [(14, 25, "noodle soup", "Dish"), (32, 38, "boston", "Location")],
        [(16, 22, "boston", "Location")],  # Label Studio's tokenizer keeps curly quotes on the word: “thai”
        [(1, 5, "thai", "Cuisine"), (18, 24, "boston", "Location")],
        []]
    assert [r["model_version"] for r in results] == ["round-0001"] * 6
    assert all(region["from_name"] == "ents" and region["to_name"] == "review"
               for result in results for region in result["result"])


def test_the_container_healthcheck_sends_basic_auth(models_dir, tmp_path, start_server):
    """The Dockerfile's HEALTHCHECK command, run as written, against a real backend that requires basic auth."""
    from tests.nerloop.test_deploy import dockerfile_instructions

    check = next(value for key, value in dockerfile_instructions() if key == "HEALTHCHECK")
    argv = json.loads(check.split("CMD", 1)[1])
    auth = {"NERLOOP_BASIC_AUTH_USER": "ls", "NERLOOP_BASIC_AUTH_PASSWORD": "pw"}
    server = start_server(env_for(models_dir, tmp_path, **auth))
    argv = [sys.executable if argv[0] == "python" else argv[0], *argv[1:-1], f"{server.url}/health"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NERLOOP_")}
    assert subprocess.run(argv, env={**env, **auth}, cwd=REPO).returncode == 0
    assert subprocess.run(argv, env=env, cwd=REPO).returncode == 1  # without the credentials: 401, unhealthy
