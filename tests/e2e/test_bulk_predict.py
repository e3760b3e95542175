"""`nerloop predict` against a real Label Studio: one prediction of the served round per task, a rerun adds none, a
killed run resumes without duplicates, a new round gets its own; a promotion refreshes the unlabelled tasks. The
Data Manager tab "nerloop: most useful first" lists the unannotated tasks by the served round's score, the least
confident first (the next task to label from it is that one), follows a promotion, and comes back when deleted."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter

import httpx
import pytest
from label_studio_sdk import LabelStudio

from converters.corpus import read_tsv
from converters.tasks import tasks_from_sentences
from labeling_config import RESTAURANT_CONFIG, restaurant_config
from stack.services import stop_process
from store.order_view import ORDER_VIEW_TITLE
from tests.e2e.conftest import LOGIN, MIT, nerloop_env, start_backend
from tests.e2e.test_loop import wait_for

pytestmark = pytest.mark.e2e


def nerloop(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "nerloop", *args], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def versions(client: LabelStudio, project_id: int) -> dict[int, Counter]:
    """task id -> how many predictions of each model_version it has."""
    found = {}
    for task in client.tasks.list(project=project_id, fields="all", page_size=1000):
        found[task.id] = Counter((p if isinstance(p, dict) else p.dict())["model_version"]
                                 for p in task.predictions or [])
    return found


def api(studio_url: str, path: str, **params: object) -> object:
    reply = httpx.get(f"{studio_url}/{path}", params=params, headers={"Authorization": f"Token {LOGIN.token}"},
                      timeout=30)
    reply.raise_for_status()
    return reply.json()


def order_tab(studio_url: str, project_id: int) -> dict | None:
    views = api(studio_url, "api/dm/views/", project=project_id)
    return next((v for v in views if v["data"].get("title") == ORDER_VIEW_TITLE), None)


def scores(client: LabelStudio, project_id: int, version: str) -> dict[int, float]:
    """Unannotated task id -> the score of its prediction by ``version``."""
    found = {}
    for task in client.tasks.list(project=project_id, fields="all", page_size=1000):
        if not task.total_annotations:
            found[task.id] = next(p["score"] for p in (x if isinstance(x, dict) else x.dict()
                                                       for x in task.predictions) if p["model_version"] == version)
    return found


def tab_order(studio_url: str, project_id: int, view_id: int) -> list[int]:
    reply = api(studio_url, "api/tasks/", project=project_id, view=view_id, page_size=1000, fields="all")
    return [task["id"] for task in reply["tasks"]]


def assert_tab_follows(client: LabelStudio, studio_url: str, project_id: int, view_id: int, version: str, *,
                       ask_next: bool = True) -> None:
    """The tab holds exactly the unannotated tasks, least confident first; with ``ask_next``, *Label All Tasks*
    (``/next``) opens the first. ``/next`` locks the task it returns to the user and gives that task back on every
    later call (Label Studio's TASK_LOCK_TTL, a day), so a test asks it once per user."""
    by_score = scores(client, project_id, version)
    order = tab_order(studio_url, project_id, view_id)
    assert sorted(order) == sorted(by_score)  # exactly the unannotated tasks
    assert [by_score[t] for t in order] == sorted(by_score.values())  # the least confident first
    if ask_next:
        first = api(studio_url, f"api/projects/{project_id}/next", view=view_id)["id"]
        assert by_score[first] == min(by_score.values())


def assert_regions_match_their_tasks(client: LabelStudio, project_id: int) -> None:
    regions = 0
    for task in client.tasks.list(project=project_id, fields="all", page_size=1000):
        for prediction in task.predictions or []:
            for region in (prediction if isinstance(prediction, dict) else prediction.dict())["result"]:
                value = region["value"]
                assert task.data["text"][value["start"]:value["end"]] == value["text"], (task.id, region)
                regions += 1
    assert regions > 0


def test_bulk_predictions_are_idempotent_resumable_and_refreshed(studio, tiny_base, small_test_file, tmp_path):
    env = nerloop_env(tmp_path, studio, tiny_base, small_test_file)
    client = LabelStudio(base_url=studio.url, api_key=LOGIN.token)
    project = client.projects.create(title="bulk", label_config=RESTAURANT_CONFIG.read_text())
    sentences = read_tsv(MIT / "train.bio")[:400]
    tasks = tasks_from_sentences(sentences[:100], restaurant_config(), as_="annotations")
    tasks += [{"text": s.text} for s in sentences[100:400]]
    client.projects.import_tasks(id=project.id, request=tasks)
    pid = str(project.id)
    nerloop(env, "round", "--project", pid)

    # a run killed after its first chunks resumes where it stopped
    killed = subprocess.Popen([sys.executable, "-m", "nerloop", "predict", "--project", pid, "--chunk", "10"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while killed.poll() is None and time.monotonic() < deadline:  # a tiny model stores 10 a request quickly
        if (client.projects.get(id=project.id).total_predictions_number or 0) >= 40:
            break
        time.sleep(0.02)
    killed.kill()
    killed.wait(30)
    partial = sum(c["round-0001"] for c in versions(client, project.id).values())
    assert 40 <= partial < 400
    resumed = nerloop(env, "predict", "--project", pid)
    assert f"project {pid}: {400 - partial} task(s) predicted, {partial} skipped" in resumed.stdout
    assert all(c == Counter({"round-0001": 1}) for c in versions(client, project.id).values())
    assert_regions_match_their_tasks(client, project.id)  # two predict calls run at once: no task gets another's
    again = nerloop(env, "predict", "--project", pid)
    assert f"project {pid}: 0 task(s) predicted, 400 skipped" in again.stdout
    tab = order_tab(studio.url, project.id)  # nerloop predict keeps the tab, pointed at the round it stored
    assert tab["data"]["ordering"] == ["tasks:predictions_score"]
    assert tab["data"]["filters"]["conjunction"] == "and"
    assert [{k: f[k] for k in ("filter", "operator", "value")} for f in tab["data"]["filters"]["items"]] == [
        {"filter": "filter:tasks:total_annotations", "operator": "equal", "value": 0}]
    assert client.projects.get(id=project.id).model_version == "round-0001"
    assert_tab_follows(client, studio.url, project.id, tab["id"], "round-0001", ask_next=False)  # asked below
    httpx.delete(f"{studio.url}/api/dm/views/{tab['id']}/", headers={"Authorization": f"Token {LOGIN.token}"})

    # a backend that refreshes after a promotion: round 2 reaches the unlabelled tasks by itself
    backend = start_backend({**env, "NERLOOP_REFRESH_PREDICTIONS": "true", "NERLOOP_WATCH_INTERVAL": "0.5"},
                            tmp_path / "backend.log")
    try:
        wait_for(lambda: httpx.post(f"{backend.url}/setup", json={"project": f"{pid}.1"}).json()["model_version"]
                 == "round-0001" and httpx.get(f"{backend.url}/health").json()["projects"][pid]["model_version"]
                 == "round-0001", 120, "the backend to serve round-0001")
        tab = wait_for(lambda: order_tab(studio.url, project.id), 60, "/setup to bring the deleted tab back")
        nerloop(env, "round", "--project", pid, "--force")
        wait_for(lambda: sum(c["round-0002"] for c in versions(client, project.id).values()) >= 300, 240,
                 "the refresh to store round-0002 on the unlabelled tasks")
        wait_for(lambda: client.projects.get(id=project.id).model_version == "round-0002", 60,
                 "the refresh to point the project at round-0002")
        assert_tab_follows(client, studio.url, project.id, tab["id"], "round-0002")
        time.sleep(2)
        after = versions(client, project.id)
        assert sorted(after.values(), key=str) == sorted(
            [Counter({"round-0001": 1})] * 100 + [Counter({"round-0001": 1, "round-0002": 1})] * 300, key=str)
        rest = nerloop(env, "predict", "--project", pid)  # the annotated tasks get round 2 from the CLI
        assert f"project {pid}: 100 task(s) predicted, 300 skipped" in rest.stdout
        assert all(c["round-0002"] == 1 for c in versions(client, project.id).values())

        # a promotion (the backend refreshes) and `nerloop predict` at once: one writer at a time, no task twice
        nerloop(env, "round", "--project", pid, "--force")
        raced = nerloop(env, "predict", "--project", pid)
        assert "repeated prediction" not in raced.stdout
        wait_for(lambda: sum(c["round-0003"] for c in versions(client, project.id).values()) >= 400, 240,
                 "round-0003 on every task")
        time.sleep(2)  # a refresh still storing would add its predictions now
        assert all(c["round-0003"] == 1 for c in versions(client, project.id).values())
    finally:
        stop_process(backend.pid)

    # predictions stored twice (two writers before they took turns) are repaired: the older copy goes
    twice = sorted(versions(client, project.id))[:5]
    client.projects.import_predictions(id=project.id, request=[
        {"task": task, "model_version": "round-0003", "score": 0.5, "result": []} for task in twice])
    assert [versions(client, project.id)[t]["round-0003"] for t in twice] == [2] * 5
    repaired = nerloop(env, "predict", "--project", pid)
    assert (f"project {pid}: 0 task(s) predicted, 400 skipped (already predicted by this round, or not chosen), "
            "5 repeated prediction(s) removed") in repaired.stdout
    assert all(c["round-0003"] == 1 for c in versions(client, project.id).values())
    kept = [p for t in twice for p in client.predictions.list(task=t) if p.model_version == "round-0003"]
    assert [p.score for p in kept] == [0.5] * 5  # the newest copy stays
