"""Requests an attacker (or a broken client) could send: entity-bomb label configs and floods of webhook events."""

from __future__ import annotations

import random
import sys
import threading

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.settings import BackendSettings
from tests.backend.conftest import CONFIG
from tests.labeling_config.test_config import BILLION_LAUGHS, DECLARATION_HINT

BOMB_DETAIL = ("{where}: found a document type declaration <!DOCTYPE lolz>; expected a Label Studio config without "
               f"one (its entities are never expanded) ({DECLARATION_HINT})")


@pytest.fixture
def client(tmp_path):
    settings = BackendSettings(models_dir=tmp_path / "models", max_projects=8, retrain_every=2,
                               log_dir=tmp_path / "logs",
                               round_command=[sys.executable, "-c", "import time; time.sleep(30)"])
    with TestClient(create_app(settings)) as c:
        yield c


def unknown(project: int) -> str:
    return (f"project {project} is unknown here: Label Studio has not connected it (/setup) and the models registry "
            f"has no project-{project}; connect the model in the project's Settings > Model, or run `nerloop round "
            "--project ID` once")


def test_setup_with_a_billion_laughs_schema_is_a_400_and_is_not_remembered(client):
    response = client.post("/setup", json={"project": "1.1700000000", "schema": BILLION_LAUGHS})
    assert (response.status_code, response.json()) == (400, {"detail": BOMB_DETAIL.format(where="setup schema")})
    assert not client.app.state.configs.seen("1")


def test_predict_with_a_billion_laughs_label_config_is_a_400(client):
    response = client.post("/predict", json={"tasks": [{"id": 1, "data": {"text": "pizza"}}],
                                             "label_config": BILLION_LAUGHS, "project": "1.1700000000"})
    assert (response.status_code, response.json()) == (
        400, {"detail": BOMB_DETAIL.format(where="field 'label_config'")})


def test_a_flood_of_events_for_made_up_projects_tracks_and_starts_nothing(client):
    rng = random.Random(7)
    ids = [rng.randrange(1, 10**9) for _ in range(2000)]
    replies = [client.post("/webhook", json={"action": rng.choice(["ANNOTATION_CREATED", "START_TRAINING"]),
                                             "project": {"id": project}}) for project in ids]
    assert {r.status_code for r in replies} == {200}
    assert [r.json() for r in replies[:2]] == [
        {"status": "ignored", "action": replies[i].json()["action"], "project": str(ids[i]), "detail": unknown(ids[i])}
        for i in range(2)]
    assert {r.json()["status"] for r in replies} == {"ignored"}
    backend = client.app.state.backend
    assert (backend.rounds.tracked(), backend.rounds.busy()) == (0, False)
    predicted = [client.post("/predict", json={"tasks": [], "label_config": CONFIG, "project": project}).status_code
                 for project in ids[:500]]
    assert set(predicted) == {200} and len(backend.pool.served()) == 8


def test_a_flood_of_setups_then_train_events_stays_within_max_projects(client, tmp_path):
    """Even for projects /setup named: 8 tracked at most, one round runs, the rest queue, the rest are refused."""
    for project in range(1, 1001):
        assert client.post("/setup", json={"project": f"{project}.1700000000"}).status_code == 200
    configs, rounds = client.app.state.configs, client.app.state.backend.rounds
    assert len(configs) == 8 and configs.seen("1000") and not configs.seen("992")
    assert client.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 5}}).json() == {
        "status": "ignored", "action": "START_TRAINING", "project": "5", "detail": unknown(5)}
    statuses = [client.post("/webhook", json={"action": "START_TRAINING", "project": {"id": project}}).json()["status"]
                for project in range(993, 1001)]
    assert statuses == ["started"] * 8
    assert rounds.tracked() == 8 and len(client.app.state.backend.pool.served()) <= 8
    client.post("/setup", json={"project": 992})
    full = client.post("/webhook", json={"action": "ANNOTATION_CREATED", "project": {"id": 992}}).json()
    assert full == {"status": "ignored", "action": "ANNOTATION_CREATED", "project": "992",
                    "detail": "all 8 tracked projects have a round running or queued (NERLOOP_MAX_PROJECTS); send it "
                              "again when one has finished"}
    assert client.post("/webhook", json={"action": "START_TRAINING", "project": {"id": 993}}).json()["status"] == (
        "queued")
    assert rounds.tracked() == 8
    assert [t.name for t in threading.enumerate() if t.name.startswith(("rounds", "round-"))] == ["rounds"]


def test_an_idle_project_makes_room_for_a_new_one(client):
    for project in range(1, 10):
        client.post("/setup", json={"project": project})
    hooks = [client.post("/webhook", json={"action": "ANNOTATION_CREATED", "project": {"id": project}}).json()
             for project in range(2, 10)]
    assert [h["detail"] for h in hooks] == ["1/2 annotation events towards the next round"] * 8
    rounds = client.app.state.backend.rounds
    assert rounds.tracked() == 8 and rounds.state("2").events == 1
    client.post("/setup", json={"project": 10})
    assert client.post("/webhook", json={"action": "ANNOTATION_CREATED", "project": {"id": 10}}).json()["detail"] == (
        "1/2 annotation events towards the next round")
    assert rounds.tracked() == 8 and rounds.state("2") is None  # the least recently used idle project was forgotten
