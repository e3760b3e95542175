"""``nerloop predict`` against a real Label Studio, killed or cut off while it stores predictions."""

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

import pytest
from label_studio_sdk import LabelStudio

from converters.corpus import read_tsv
from converters.tasks import tasks_from_sentences
from labeling_config import RESTAURANT_CONFIG, restaurant_config
from nerloop.demo import MIT_DIR
from stack.services import Service, stop_process
from stack.studio_launcher import start_studio
from tests.e2e.conftest import LOGIN, start_studio_copy, studio_template  # noqa: F401 (a fixture)
from tests.faults.conftest import ROOT, nerloop, wait_for

pytestmark = pytest.mark.e2e
TASKS = 300


@pytest.fixture(scope="module")
def live(studio_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:  # noqa: F811
    """A Label Studio with two projects of the same 300 tasks (60 annotated): ``first`` trained its round-0001,
    ``second`` serves a copy of it."""
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
    state = {"studio": studio, "client": client, "ids": ids, "where": where}
    yield state
    stop_process(state["studio"].pid)


@pytest.fixture
def live_env(env: dict[str, str], live: dict, tmp_path: Path) -> dict[str, str]:
    """``env`` pointed at the live Label Studio, with the first project's round trained and copied to the second."""
    first, second = live["ids"]
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


def some_stored(client: LabelStudio, project_id: int) -> bool:
    return (client.projects.get(id=project_id).total_predictions_number or 0) >= 40


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
