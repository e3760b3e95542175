"""One backend, many projects: each is served its own round, at most max_models stay in memory, a project without a
round answers no-model, and a label config that differs from the served model's labels is counted."""

from __future__ import annotations

import shutil

from fastapi.testclient import TestClient

from backend.app import create_app
from backend.settings import BackendSettings
from labeling_config.config import render_config
from tests.backend.conftest import CONFIG
from tests.backend.tiny_round import make_round

MOVIES = render_config(["Actor", "Genre"], from_name="ents", to_name="review", data_key="review")


def two_projects(models_dir):
    """Project 1 (the fixture's restaurant round) and project 2, whose round tags actors and genres."""
    make_round(models_dir / "project-2", "round-0001", {"pacino": "B-Actor", "thriller": "B-Genre"},
               labels=("Actor", "Genre"))
    return models_dir


def post(client, project, texts, config):
    tasks = [{"id": i, "data": {"review": t}} for i, t in enumerate(texts)]
    response = client.post("/predict", json={"tasks": tasks, "label_config": config, "project": f"{project}.17"})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def labels_of(results):
    return [[r["value"]["labels"][0] for r in result["result"]] for result in results]


def test_each_project_is_served_its_own_round(models_dir, tmp_path):
    two_projects(models_dir)
    with TestClient(create_app(BackendSettings(models_dir=models_dir))) as client:
        one = post(client, 1, ["thai pizza", "a pacino thriller"], CONFIG)
        two = post(client, 2, ["thai pizza", "a pacino thriller"], MOVIES)
        three = post(client, 3, ["thai pizza"], CONFIG)
        assert labels_of(one) == [["Cuisine", "Dish"], []]
        assert labels_of(two) == [[], ["Actor", "Genre"]]
        assert three == [{"result": [], "score": 0.0, "model_version": "no-model"}]
        assert client.post("/setup", json={"project": "3.17", "schema": CONFIG}).json() == {"model_version": "no-model"}
        health = client.get("/health").json()["projects"]
        assert {name: state["model_version"] for name, state in health.items()} == {
            "1": "round-0001", "2": "round-0001", "3": "no-model"}
        text = client.get("/metrics").text
        assert 'nerloop_project_round_info{project="2",round="round-0001"} 1' in text


def test_the_least_recently_used_model_leaves_memory(models_dir, tmp_path):
    two_projects(models_dir)
    app = create_app(BackendSettings(models_dir=models_dir, max_models=1))
    with TestClient(app) as client:
        post(client, 1, ["thai pizza"], CONFIG)
        post(client, 2, ["a pacino thriller"], MOVIES)
        assert app.state.backend.pool.served() == {"2": "round-0001"}
        assert labels_of(post(client, 1, ["thai pizza"], CONFIG)) == [["Cuisine", "Dish"]]  # loaded again
        assert app.state.backend.pool.served() == {"1": "round-0001"}
        assert "nerloop_model_evictions_total 2" in client.get("/metrics").text


def test_a_label_config_other_than_the_models_labels_is_counted(models_dir, tmp_path, caplog):
    with TestClient(create_app(BackendSettings(models_dir=models_dir))) as client:
        post(client, 1, ["thai pizza"], MOVIES)
        post(client, 1, ["thai pizza"], MOVIES)
        text = client.get("/metrics").text
    assert 'nerloop_label_mismatch_total{project="1"} 2' in text
    warnings = [r.getMessage() for r in caplog.records if "differ from" in r.getMessage()]
    assert warnings == ["project 1: the label config's labels ['Actor', 'Genre'] differ from round-0001's ['Cuisine', "
                        "'Dish', 'Location']; entities of labels the config lacks are left out "
                        "(nerloop_regions_dropped_total), labels the model lacks are never predicted: train a round "
                        "of this project"]


def test_a_promoted_round_swaps_in_for_its_project_only(models_dir, tmp_path):
    two_projects(models_dir)
    app = create_app(BackendSettings(models_dir=models_dir, watch_interval=0.1))
    with TestClient(app) as client:
        post(client, 1, ["thai pizza"], CONFIG)
        post(client, 2, ["a pacino thriller"], MOVIES)
        shutil.copytree(models_dir / "project-2" / "round-0001", models_dir / "project-2" / "round-0002")
        (models_dir / "project-2" / "current").write_text("round-0002\n")
        assert app.state.backend.pool.check("2") is True
        assert post(client, 2, ["pacino"], MOVIES)[0]["model_version"] == "round-0002"
        assert post(client, 1, ["pizza"], CONFIG)[0]["model_version"] == "round-0001"
