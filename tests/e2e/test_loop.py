"""The whole loop against a real Label Studio and a real backend process, talking HTTP to both.

project from labeling_config/restaurant.xml → import tasks → round 1 (`nerloop round --project`) → connect the
backend through Label Studio's API → Label Studio stores the backend's predictions → annotate through the API →
press Train → round 2 promoted and served → new predictions carry the new model_version → CONLL2003 and JSON
exports convert to identical splits → the round's report is on disk.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from label_studio_sdk import LabelStudio

from converters.corpus import read_tsv
from converters.export import read_export
from converters.split_writer import stream_splits
from converters.tasks import tasks_from_sentences
from labeling_config import RESTAURANT_CONFIG, restaurant_config
from stack.lifecycle import wait_until_serving
from stack.services import stop_process
from store.studio import Studio
from tests.e2e.conftest import LOGIN, MIT, nerloop_env, start_backend

pytestmark = pytest.mark.e2e
TRICKY = ["cheap pizza in boston, open 24/7?", "is joe's café near the “river walk”…",
          "thai thai thai places", "a 5 star italian restaurant and a 4 star mexican restaurant"]


def wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def predictions_of(client: LabelStudio, project_id: int, version: str) -> dict[int, list[dict]]:
    """task id -> result of the task's prediction with ``version``, read back from Label Studio's API."""
    found: dict[int, list[dict]] = {}
    for task in client.tasks.list(project=project_id, fields="all"):
        for prediction in task.predictions or []:
            prediction = prediction if isinstance(prediction, dict) else prediction.dict()
            if prediction.get("model_version") == version:
                found[task.id] = prediction["result"]
    return found


def assert_regions_are_exact(text: str, result: list[dict]) -> None:
    labels = set(restaurant_config().labels)
    for region in result:
        assert (region["from_name"], region["to_name"], region["type"]) == ("label", "text", "labels")
        value = region["value"]
        assert value["text"] == text[value["start"]:value["end"]]
        assert value["labels"][0] in labels


def test_label_studio_and_backend_close_the_loop(studio, tiny_base, small_test_file, tmp_path):
    env = nerloop_env(tmp_path, studio, tiny_base, small_test_file)
    client = LabelStudio(base_url=studio.url, api_key=LOGIN.token)
    gateway = Studio.connect(studio.url, LOGIN.token)
    config = restaurant_config()
    project = client.projects.create(title="e2e restaurant", label_config=RESTAURANT_CONFIG.read_text())
    sentences = read_tsv(MIT / "train.bio")[:230]
    gold, later = sentences[:150], sentences[150:]
    tasks = tasks_from_sentences(gold, config, as_="annotations") + [{"text": s.text} for s in later]
    tasks += [{"text": text} for text in TRICKY]
    task_ids = client.projects.import_tasks(id=project.id, request=tasks, return_task_ids=True).task_ids
    assert len(task_ids) == 234

    # Round 1 from the gold tasks, as cron or a user would run it.
    first = subprocess.run([sys.executable, "-m", "nerloop", "round", "--project", str(project.id)], env=env,
                           capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "round-0001: micro F1 " in first.stdout
    assert "promoted: first promoted round (micro F1 " in first.stdout
    models = tmp_path / "models" / f"project-{project.id}"
    assert (models / "current").read_text() == "round-0001\n"

    backend = start_backend(env, tmp_path / "backend.log")
    try:
        wait_until_serving(backend.url, project.id, "round-0001")
        ml = client.ml.create(project=project.id, url=backend.url, title="nerloop", auth_method="NONE")
        gateway.request_predictions(project.id)
        stored = wait_for(lambda: len(p := predictions_of(client, project.id, "round-0001")) >= 84 and p,
                          120, "Label Studio to store round-0001 predictions")
        texts = {task_id: task["data"]["text"] if "data" in task else task["text"]
                 for task_id, task in zip(task_ids, tasks, strict=True)}
        for task_id, result in stored.items():
            assert_regions_are_exact(texts[task_id], result)

        # Annotators label 60 more tasks; then someone presses Train.
        for task_id, sentence in zip(task_ids[150:210], later[:60], strict=True):
            result = tasks_from_sentences([sentence], config, as_="annotations")[0]["annotations"][0]["result"]
            client.annotations.create(id=task_id, result=result)
        client.ml.train(id=ml.id)
        wait_for(lambda: httpx.get(f"{backend.url}/health").json()["projects"][str(project.id)]["model_version"]
                 == "round-0002", 420, "round-0002 to be trained, promoted and served")
        assert (models / "current").read_text() == "round-0002\n"
        assert (models / "round-0002" / "report.html").stat().st_size > 1000
        assert (models / "round-0002" / "report.json").exists()

        gateway.request_predictions(project.id)
        fresh = wait_for(lambda: len(p := predictions_of(client, project.id, "round-0002")) >= 84 and p, 120,
                         "round-0002 predictions on the tasks that had round-0001 ones")
        for task_id, result in fresh.items():
            assert_regions_are_exact(texts[task_id], result)
    finally:
        stop_process(backend.pid)

    # Both export routes of the same project give byte-identical splits.
    snap = gateway.snapshot_export(project.id, tmp_path / "export",
                                      formats=("JSON", "CONLL2003"))
    outputs = []
    for fmt in ("JSON", "CONLL2003"):
        sentences_read, report = read_export(snap.files[fmt], config)
        assert len(sentences_read) == 210
        out = stream_splits(sentences_read, tmp_path / f"splits-{fmt}", report)
        outputs.append({name: Path(path).read_bytes() for name, path in out.items() if name != "report"})
    assert outputs[0].keys() >= {"train", "validation", "test"}
    assert outputs[0] == outputs[1]
