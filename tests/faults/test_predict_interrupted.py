"""Predictions stored into a real Label Studio, by ``nerloop predict`` or by the backend's refresh after a
promotion, killed or cut off half way."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from label_studio_sdk import LabelStudio

from converters.corpus import read_tsv
from converters.tasks import tasks_from_sentences
from labeling_config import RESTAURANT_CONFIG, restaurant_config
from nerloop.demo import MIT_DIR
from stack.services import Service, stop_process
from stack.studio_launcher import start_studio
from store import registry
from tests.e2e.conftest import LOGIN, start_studio_copy, studio_template  # noqa: F401 (a fixture)
from tests.faults.conftest import ROOT, nerloop, served_rounds, wait_for

pytestmark = pytest.mark.e2e
TASKS = 300
REFRESHED = 1000  # unlabelled tasks of the refreshed project: four import requests of 256 predictions


@pytest.fixture(scope="module")
def live(studio_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:  # noqa: F811
    """A Label Studio with two projects of the same 300 tasks (60 annotated), ``first`` and ``second`` (which
    ``live_env`` gives a trained round), and ``refreshed``, of 1,000 unlabelled tasks."""
    where = tmp_path_factory.mktemp("live")
    studio = start_studio_copy(studio_template, where)
    client = LabelStudio(base_url=studio.url, api_key=LOGIN.token)
    sentences = read_tsv(MIT_DIR / "train.bio")[:TASKS]
    tasks = tasks_from_sentences(sentences[:60], restaurant_config(), as_="annotations")
    tasks += [{"text": s.text} for s in sentences[60:]]
    ids = []
    for title in ("first", "second"):
        project = client.projects.create(title=title, label_config=RESTAURANT_CONFIG.read_text())
        client.projects.import_tasks(id=project.id, request=tasks)
        ids.append(project.id)
    refreshed = client.projects.create(title="refreshed", label_config=RESTAURANT_CONFIG.read_text())
    client.projects.import_tasks(id=refreshed.id, request=[{"text": s.text} for s in
                                                           read_tsv(MIT_DIR / "train.bio")[:REFRESHED]])
    ids.append(refreshed.id)
    state = {"studio": studio, "client": client, "ids": ids, "where": where}
    yield state
    stop_process(state["studio"].pid)


@pytest.fixture
def live_env(env: dict[str, str], live: dict, tmp_path: Path) -> dict[str, str]:
    """``env`` pointed at the live Label Studio, with the first project's round trained and copied to the second."""
    first, second, _ = live["ids"]
    studio: Service = live["studio"]
    chosen = {**env, "NERLOOP_STUDIO_URL": studio.url, "NERLOOP_STUDIO_API_KEY": LOGIN.token}
    nerloop(chosen, "round", "--project", str(first))
    models = Path(chosen["NERLOOP_MODELS_DIR"])
    shutil.copytree(models / f"project-{first}", models / f"project-{second}")
    record = json.loads((models / f"project-{second}" / "project.json").read_text())
    (models / f"project-{second}" / "project.json").write_text(json.dumps({**record, "project": str(second)}))
    return chosen


def stored(client: LabelStudio, project_id: int) -> list[Counter]:
    """Per task, how many predictions of each model_version it holds."""
    return [Counter((p if isinstance(p, dict) else p.dict())["model_version"] for p in task.predictions or [])
            for task in client.tasks.list(project=project_id, fields="all", page_size=1000)]


def start_predict(env: dict[str, str], project_id: int, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "nerloop", "predict", "--project", str(project_id),
                                 "--chunk", "10"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)


def some_stored(client: LabelStudio, project_id: int, least: int = 40) -> bool:
    return (client.projects.get(id=project_id).total_predictions_number or 0) >= least


def test_predict_killed_while_storing_then_rerun_leaves_one_prediction_per_task(live, live_env, tmp_path):
    """Fault: ``nerloop predict`` gets SIGKILL once 40 predictions are stored (counted in Label Studio). Outcome: the
    rerun stores the rest; every task holds exactly one prediction of round-0001."""
    client, project_id = live["client"], live["ids"][0]
    log = tmp_path / "predict.log"
    child = start_predict(live_env, project_id, log)
    try:
        wait_for(lambda: some_stored(client, project_id), 240, "40 stored predictions", alive=child, log=log)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(30)
    partial = sum(c["round-0001"] for c in stored(client, project_id))
    assert 40 <= partial < TASKS
    rerun = nerloop(live_env, "predict", "--project", str(project_id))
    assert f"project {project_id}: {TASKS - partial} task(s) predicted, {partial} skipped" in rerun.stdout
    assert stored(client, project_id) == [Counter({"round-0001": 1})] * TASKS


def test_studio_restarted_during_predict_stops_with_a_clear_error_and_a_rerun_completes(live, live_env, tmp_path):
    """Fault: Label Studio is stopped once 40 predictions are stored, and started again. Outcome: ``nerloop
    predict`` stops with one line naming Label Studio's URL and that it cannot reach it; after the restart a rerun
    completes, every task with exactly one prediction of round-0001 (any copy stored twice is removed)."""
    client, project_id = live["client"], live["ids"][1]
    studio: Service = live["studio"]
    log = tmp_path / "predict.log"
    child = start_predict(live_env, project_id, log)
    try:
        wait_for(lambda: some_stored(client, project_id), 240, "40 stored predictions", alive=child, log=log)
        stop_process(studio.pid)
        assert child.wait(120) == 1
    finally:
        child.kill()
        child.wait(30)
    error = log.read_text().strip().splitlines()[-1]
    assert error.startswith(f"error: {studio.url}: ") and "cannot reach Label Studio" in error, error
    live["studio"] = start_studio(live["where"] / "label-studio", LOGIN, port=studio.port,
                                  log=live["where"] / "label-studio-restarted.log")
    rerun = nerloop(live_env, "predict", "--project", str(project_id))
    assert f"project {project_id}: " in rerun.stdout
    assert stored(client, project_id) == [Counter({"round-0001": 1})] * TASKS


def test_backend_killed_while_refreshing_resumes_on_restart_with_one_prediction_per_task(
        live, env, template_round, backend, tmp_path):
    """Fault: the backend gets SIGKILL while its refresh after a promotion stores the new round's predictions (once
    the first 256 of 1,000 are in Label Studio). Outcome: the restarted backend resumes the refresh with the round
    it serves; every task ends with exactly one prediction of round-0002, and the refresh's marker is gone."""
    client, project_id = live["client"], live["ids"][2]
    studio: Service = live["studio"]
    registry_dir = served_rounds(Path(env["NERLOOP_MODELS_DIR"]), str(project_id), template_round)
    refreshing = {**env, "NERLOOP_STUDIO_URL": studio.url, "NERLOOP_STUDIO_API_KEY": LOGIN.token,
                  "NERLOOP_REFRESH_PREDICTIONS": "true", "NERLOOP_WATCH_INTERVAL": "0.2"}
    served = backend(refreshing)
    loaded = httpx.post(f"{served.url}/predict", timeout=60, json={
        "project": f"{project_id}.1", "label_config": RESTAURANT_CONFIG.read_text(),
        "tasks": [{"id": 1, "data": {"text": "pizza"}}]}).json()
    assert loaded["results"][0]["model_version"] == "round-0001"

    shutil.copytree(template_round, registry_dir / "round-0002")
    registry.set_current(registry_dir, "round-0002")  # a promotion, as a round makes it
    wait_for(lambda: some_stored(client, project_id, least=256), 240, "256 refreshed predictions", log=served.log)
    os.kill(served.pid, signal.SIGKILL)
    partial = sum(c["round-0002"] for c in stored(client, project_id))
    assert 256 <= partial < REFRESHED
    assert json.loads((registry_dir / "refresh.json").read_text()) == {"version": "round-0002"}

    restarted = backend(refreshing, name="restarted")
    wait_for(lambda: not (registry_dir / "refresh.json").exists(), 240, "the resumed refresh", log=restarted.log)
    assert stored(client, project_id) == [Counter({"round-0002": 1})] * REFRESHED
    assert (f"project {project_id}: resuming the refresh of its predictions (left unfinished with round-0002)"
            in restarted.log.read_text())
