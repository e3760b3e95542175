"""Two projects with different label sets on one real Label Studio and one real backend, each trained from its
Train button; a third project without annotations gets no-model."""

from __future__ import annotations

import httpx
import pytest
from label_studio_sdk import LabelStudio

from converters.corpus import Sentence, read_tsv
from converters.tasks import tasks_from_sentences
from labeling_config import RESTAURANT_CONFIG, parse_config, render_config, restaurant_config
from stack.services import stop_process
from tests.e2e.conftest import LOGIN, MIT, nerloop_env, start_backend
from tests.e2e.test_bulk_predict import nerloop
from tests.e2e.test_loop import predictions_of, wait_for

pytestmark = pytest.mark.e2e
FOOD = {"Dish": "Food", "Cuisine": "Food", "Location": "Place"}  # project 2's own labels, from MIT's


def relabel(sentence: Sentence) -> Sentence:
    tags = []
    for tag in sentence.tags:
        label = FOOD.get(tag[2:]) if tag != "O" else None
        tags.append(f"{tag[:2]}{label}" if label else "O")
    return Sentence(sentence.tokens, tuple(tags), sentence.source)


def backend_predict(url: str, project: int, texts: list[str], config_xml: str) -> list[dict]:
    tasks = [{"id": i, "data": {"text": t}} for i, t in enumerate(texts)]
    response = httpx.post(f"{url}/predict", json={"tasks": tasks, "project": f"{project}.1700000000",
                                                  "label_config": config_xml}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def served(url: str, project: int) -> str | None:
    return httpx.get(f"{url}/health", timeout=5).json()["projects"].get(str(project), {}).get("current")


def test_two_projects_with_their_own_labels_share_one_backend(studio, tiny_base, small_test_file, tmp_path):
    env = nerloop_env(tmp_path, studio, tiny_base, small_test_file, NERLOOP_TEST_FILE="")  # no global test file
    client = LabelStudio(base_url=studio.url, api_key=LOGIN.token)
    sentences = read_tsv(MIT / "train.bio")
    restaurant_xml = RESTAURANT_CONFIG.read_text()
    food_xml = render_config(["Food", "Place"])
    restaurant = client.projects.create(title="restaurants", label_config=restaurant_xml)
    food = client.projects.create(title="food and places", label_config=food_xml)
    empty = client.projects.create(title="nothing annotated yet", label_config=restaurant_xml)
    client.projects.import_tasks(id=restaurant.id, request=tasks_from_sentences(
        sentences[:120], restaurant_config(), as_="annotations"))
    client.projects.import_tasks(id=food.id, request=tasks_from_sentences(
        [relabel(s) for s in sentences[200:320]], parse_config(food_xml), as_="annotations")
        + [{"text": s.text} for s in sentences[320:330]])
    client.projects.import_tasks(id=empty.id, request=[{"text": s.text} for s in sentences[400:405]])
    probe = [s.text for s in sentences[500:520]]

    backend = start_backend(env, tmp_path / "backend.log")
    try:
        ml = {p.id: client.ml.create(project=p.id, url=backend.url, title="nerloop", auth_method="NONE").id
              for p in (restaurant, food, empty)}
        client.ml.train(id=ml[restaurant.id])
        wait_for(lambda: served(backend.url, restaurant.id) == "round-0001", 300, "the restaurant round")
        before = backend_predict(backend.url, restaurant.id, probe, restaurant_xml)
        assert {r["model_version"] for r in before} == {"round-0001"}

        client.ml.train(id=ml[food.id])
        wait_for(lambda: served(backend.url, food.id) == "round-0001", 300, "the food round")
        after = backend_predict(backend.url, restaurant.id, probe, restaurant_xml)
        assert after == before  # project 1's predictions are unchanged after project 2 trained
        food_results = backend_predict(backend.url, food.id, probe, food_xml)
        assert {r["model_version"] for r in food_results} == {"round-0001"}
        assert {region["value"]["labels"][0] for r in food_results for region in r["result"]} <= {"Food", "Place"}
        assert backend_predict(backend.url, empty.id, probe[:3], restaurant_xml) == [
            {"result": [], "score": 0.0, "model_version": "no-model"}] * 3

        # `nerloop predict` stores project 2's own round, with its labels, on the tasks asked for
        plain = [t.id for t in client.tasks.list(project=food.id, fields="all") if not t.total_annotations]
        bulk = nerloop(env, "predict", "--project", str(food.id), "--tasks", ",".join(map(str, plain)))
        assert f"project {food.id}: 10 task(s) predicted, 120 skipped" in bulk.stdout
        assert sorted(predictions_of(client, food.id, "round-0001")) == sorted(plain)
        assert not predictions_of(client, restaurant.id, "round-0001")

        # Label Studio stores project 2's predictions with its own labels and version (the other 120 tasks)
        client.actions.create(id="retrieve_tasks_predictions", project=food.id,
                              selected_items={"all": True, "excluded": []})
        stored = wait_for(lambda: len(p := predictions_of(client, food.id, "round-0001")) == 130 and p, 120,
                          "Label Studio to store the food project's predictions")
        assert {region["value"]["labels"][0] for result in stored.values() for region in result} <= {"Food", "Place"}
        assert all(region["from_name"] == "label" for result in stored.values() for region in result)

        # each project's round is visible in its model card, and in /health
        card = client.ml.get(id=ml[food.id])
        assert card.description.startswith("nerloop: ") and "round-0001 promoted (micro F1 " in card.description
        health = httpx.get(f"{backend.url}/health").json()["projects"]
        assert health[str(restaurant.id)]["last_round"]["status"] == "promoted"
        assert health[str(food.id)]["last_round"]["round"] == "round-0001"
        models = tmp_path / "models"
        assert sorted(p.name for p in models.iterdir() if p.name.startswith("project-")) == [
            f"project-{restaurant.id}", f"project-{food.id}"]
    finally:
        stop_process(backend.pid)
