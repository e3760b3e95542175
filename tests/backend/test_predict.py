"""/predict, /setup, /health and /metrics through TestClient, on a round whose tags we set by hand."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from backend.app import AUTH_REQUIRED, create_app
from backend.settings import BackendSettings
from labeling_config.config import render_config
from tests.backend.conftest import CONFIG


def client_for(models_dir, **overrides) -> TestClient:
    app = create_app(BackendSettings(models_dir=models_dir, **overrides))
    client = TestClient(app)
    client.__enter__()
    app.state.backend.pool.get("1", 30)
    return client


@pytest.fixture
def client(models_dir):
    c = client_for(models_dir)
    yield c
    c.__exit__(None, None, None)


def region(text: str, start: int, end: int, label: str, score: float = 1.0) -> dict:
    return {"from_name": "ents", "to_name": "review", "type": "labels",
            "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]}, "score": score}


def predict(client, texts, config=CONFIG):
    tasks = [{"id": i, "data": {"review": t}} for i, t in enumerate(texts)]
    response = client.post("/predict", json={"tasks": tasks, "label_config": config, "project": "1.1700000000"})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_regions_have_exact_offsets_on_tricky_texts(client):
    texts = ["I want thai pizza, pizza in Boston.",
             "pizza pizza",
             "crème brûlée (noodle soup) near boston!!",
             "nothing here at all"]
    results = predict(client, texts)
    assert len(results) == 4
    assert results[0]["result"] == [region(texts[0], 7, 11, "Cuisine"), region(texts[0], 12, 17, "Dish"),
                                    region(texts[0], 19, 24, "Dish"), region(texts[0], 28, 34, "Location")]
    assert results[1]["result"] == [region(texts[1], 0, 5, "Dish"), region(texts[1], 6, 11, "Dish")]
    assert results[2]["result"] == [region(texts[2], 14, 25, "Dish"), region(texts[2], 32, 38, "Location")]
    assert results[2]["result"][0]["value"]["text"] == "noodle soup"
    assert results[3] == {"result": [], "score": 0.9821, "model_version": "round-0001"}
    for result in results:
        assert result["model_version"] == "round-0001"


def test_task_score_is_the_rounds_confidence_under_the_loops_order(client):
    from inference.uncertainty import task_score

    results = predict(client, ["pizza in boston", "maybe pizza"])
    scores = client.app.state.backend.pool.get("1", 30).classifier.score([["pizza", "in", "boston"],
                                                                          ["maybe", "pizza"]])
    assert [r["score"] for r in results] == [task_score(s.probs) for s in scores]
    assert results[1]["score"] < results[0]["score"]  # "maybe" is split 50/50 between two tags: label it first
    assert results[1]["result"][0]["score"] == 0.5


def test_long_text_is_windowed_not_truncated(tmp_path, models_dir):
    import shutil

    from inference.windows import WindowSize, write_window_size

    words = ["filler"] * 7 + ["pizza", "noodle", "soup"] + ["filler"] * 9 + ["boston"]
    text = " ".join(words * 4)
    wide = tmp_path / "wide"
    shutil.copytree(models_dir, wide)
    write_window_size(models_dir / "project-1" / "round-0001" / "model", WindowSize(12, 4))  # the round's own window
    write_window_size(wide / "project-1" / "round-0001" / "model", WindowSize(512, 32))
    small = client_for(models_dir)
    big = client_for(wide)
    try:
        windowed, whole = predict(small, [text])[0], predict(big, [text])[0]
    finally:
        small.__exit__(None, None, None)
        big.__exit__(None, None, None)
    assert len(windowed["result"]) == 12
    assert windowed == whole
    assert [r["value"]["text"] for r in windowed["result"][:3]] == ["pizza", "noodle soup", "boston"]


def test_labels_the_project_lacks_are_never_emitted(client):
    config = render_config(["Dish"], from_name="ents", to_name="review", data_key="review")
    result = predict(client, ["thai pizza in boston"], config)[0]["result"]
    assert [r["value"]["labels"] for r in result] == [["Dish"]]
    assert 'nerloop_regions_dropped_total{reason="label_not_in_project"} 2' in client.get("/metrics").text


def test_bad_tasks_get_empty_results_and_keep_the_batch(client):
    tasks = [{"id": 1, "data": {"text": "pizza"}}, {"id": 2, "data": {"review": 5}}, {"id": 3, "data": {"review": ""}},
             {"id": 4, "data": {"review": "pizza " * 200_000}}, {"id": 5, "data": {"review": "pizza"}}, {"id": 6},
             {"id": 7, "data": {"review": "pizza \ud800 boston"}}]  # valid JSON, but a lone surrogate
    # ASCII-escaped: "\ud800" stays valid JSON
    body = json.dumps({"tasks": tasks, "label_config": CONFIG, "project": 1})
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["result"] for r in results[:4]] == [[], [], [], []]
    assert [r["score"] for r in results[:4]] == [0.0, 0.0, 0.0, 0.0]
    assert results[4]["result"][0]["value"]["text"] == "pizza"
    assert results[5]["result"] == []
    assert results[6] == {"result": [], "score": 0.0, "model_version": "round-0001"}
    assert len(results) == 7
    metrics = client.get("/metrics").text
    assert 'nerloop_tasks_skipped_total{reason="not_utf8"} 1' in metrics
    assert 'nerloop_tasks_skipped_total{reason="missing"} 2' in metrics
    assert 'nerloop_tasks_skipped_total{reason="too_long"} 1' in metrics


@pytest.mark.parametrize(("body", "status", "detail"), [
    (b"{not json", 422, "body is not valid JSON (Expecting property name enclosed in double quotes); "
                        "send a JSON object"),
    (b'{"label_config": "<View/>"}', 422, "body.tasks: Field required"),
    (b'{"tasks": [1], "label_config": "<View/>"}', 422, "body.tasks[0]: Input should be a valid dictionary or object "
                                                        "to extract fields from"),
    (b'{"tasks": [{"data": "x"}]}', 422, "body.tasks[0].data: Input should be a valid dictionary"),
    (b'{"tasks": [{"data": {"text": "x"}}]}', 400, "field 'label_config': no label_config in the request and none "
     "received by /setup for this project (send the project's labeling config as label_config (Label Studio does))"),
    (b'{"tasks": [], "label_config": "<View"}', 400, "field 'label_config': not well-formed XML (unclosed token: "
     "line 1, column 0) (fix the XML or export the config again from Label Studio)"),
])
def test_bad_requests_get_a_clear_4xx(client, body, status, detail):
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["detail"]) == (status, detail)


def test_setup_remembers_the_config_for_predict(client):
    response = client.post("/setup", json={"project": "1.1700000000", "schema": CONFIG, "hostname": "http://ls",
                                           "access_token": "secret-token", "extra_params": {}})
    assert response.json() == {"model_version": "round-0001"}
    response = client.post("/predict", json={"tasks": [{"id": 1, "data": {"review": "pizza"}}], "project": 1})
    assert response.json()["results"][0]["result"][0]["from_name"] == "ents"


def test_no_model_yet(tmp_path):
    client = client_for(tmp_path / "empty")
    try:
        assert client.get("/health").json() == {"status": "UP", "model_class": "NerBackend", "projects": {
            "1": {"model_version": "no-model", "current": "no-model", "last_round": None, "round_running": False}}}
        assert client.post("/setup", json={"project": "1.2", "schema": CONFIG}).json() == {"model_version": "no-model"}
        results = predict(client, ["pizza", "boston"])
        assert results == [{"result": [], "score": 0.0, "model_version": "no-model"}] * 2
    finally:
        client.__exit__(None, None, None)


def test_basic_auth(models_dir):
    client = client_for(models_dir, basic_auth_user="ls", basic_auth_password="pw")
    try:
        assert client.get("/health").status_code == 401
        bad = base64.b64encode(b"ls:nope").decode()
        assert client.get("/health", headers={"Authorization": f"Basic {bad}"}).status_code == 401
        good = base64.b64encode(b"ls:pw").decode()
        assert client.get("/health", headers={"Authorization": f"Basic {good}"}).status_code == 200
        event = {"action": "START_TRAINING", "project": {"id": 3}}
        refused = client.post("/webhook", json=event)  # what a Label Studio webhook without the header gets
        assert (refused.status_code, refused.json()["detail"]) == (401, AUTH_REQUIRED)
        assert client.post("/webhook", json={"action": "PROJECT_UPDATED"},
                           headers={"Authorization": f"Basic {good}"}).status_code == 200
    finally:
        client.__exit__(None, None, None)


def test_settings_fail_fast_on_an_incomplete_setup(models_dir, monkeypatch):
    with pytest.raises(ValidationError) as info:
        BackendSettings(models_dir=models_dir, basic_auth_user="ls")
    assert "NERLOOP_BASIC_AUTH_USER is set without NERLOOP_BASIC_AUTH_PASSWORD" in str(info.value)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None if name == "onnxruntime" else object())
    with pytest.raises(ValidationError) as info:
        BackendSettings(models_dir=models_dir, runtime="onnx")
    assert "NERLOOP_RUNTIME=onnx needs onnxruntime, which is not installed" in str(info.value)


def test_metrics_text(client):
    predict(client, ["pizza in boston"])
    text = client.get("/metrics").text
    assert "# TYPE nerloop_request_duration_seconds histogram" in text
    assert 'nerloop_requests_total{endpoint="/predict",status="200"} 1' in text
    assert 'nerloop_request_duration_seconds_count{endpoint="/predict"} 1' in text
    assert "nerloop_predictions_total 1" in text
    assert "nerloop_regions_total 2" in text
    assert 'nerloop_project_round_info{project="1",round="round-0001"} 1' in text


def test_onnx_runtime_gives_the_same_predictions(models_dir):
    texts = ["I want thai pizza, pizza in Boston.", "maybe noodle soup", "nothing"]
    torch_client = client_for(models_dir)
    onnx_client = client_for(models_dir, runtime="onnx")
    try:
        assert predict(onnx_client, texts) == predict(torch_client, texts)
    finally:
        torch_client.__exit__(None, None, None)
        onnx_client.__exit__(None, None, None)
    assert (models_dir / "project-1" / "round-0001" / "model" / "model.onnx").is_file()


def test_int8_onnx_finds_the_same_entities(models_dir):
    texts = ["I want thai pizza, pizza in Boston.", "noodle soup near boston"]
    torch_client = client_for(models_dir)
    int8_client = client_for(models_dir, runtime="onnx", onnx_quantize=True)
    try:
        def spans(client):
            return [[(r["value"]["start"], r["value"]["end"], r["value"]["labels"]) for r in result["result"]]
                    for result in predict(client, texts)]

        assert spans(int8_client) == spans(torch_client)
    finally:
        torch_client.__exit__(None, None, None)
        int8_client.__exit__(None, None, None)
    assert (models_dir / "project-1" / "round-0001" / "model" / "model.int8.onnx").is_file()
