"""The tab "nerloop: most useful first" in a real browser: an annotator opens the project's tab in Label Studio and
presses *Label All Tasks*; the first task shown is the unannotated task with the lowest prediction score of the
project's model version (the most useful one), not the first by id, and not an annotated one."""

from __future__ import annotations

import os
import random
from pathlib import Path

import httpx
import pytest

from converters.corpus import read_tsv
from converters.tasks import tasks_from_sentences
from labeling_config import RESTAURANT_CONFIG, restaurant_config
from store.order_view import keep_order_view
from store.studio import Studio
from tests.e2e.conftest import LOGIN, MIT
from tests.nerloop.test_round_report import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e


def make_project(studio_url: str) -> tuple[int, dict[int, tuple[str, float]]]:
    """A project of 30 tasks, each with a round-0001 prediction whose score is shuffled; the 6 lowest-scored tasks
    are annotated. Returns the project id and, per unannotated task, its text and score."""
    studio = Studio.connect(studio_url, LOGIN.token)
    project_id, _ = studio.find_or_create_project("ordered", RESTAURANT_CONFIG.read_text())
    sentences = read_tsv(MIT / "train.bio")[:30]
    scores = [round(0.05 + 0.03 * i, 2) for i in range(30)]
    random.Random(7).shuffle(scores)
    annotated = set(sorted(range(30), key=lambda i: scores[i])[:6])
    tasks = []
    for i, (sentence, task) in enumerate(zip(sentences, tasks_from_sentences(sentences, restaurant_config(),
                                                                             as_="annotations"), strict=True)):
        task = {"data": task["data"], "predictions": [{"model_version": "round-0001", "score": scores[i],
                                                       "result": []}]}
        if i in annotated:
            task["annotations"] = tasks_from_sentences([sentence], restaurant_config(),
                                                       as_="annotations")[0]["annotations"]
        tasks.append(task)
    ids = studio.import_tasks(project_id, tasks)
    return project_id, {task_id: (sentences[i].text, scores[i]) for i, task_id in enumerate(ids)
                        if i not in annotated}


def test_label_all_tasks_from_the_tab_opens_the_most_useful_task(studio, tmp_path: Path) -> None:
    if not CHROMIUM.is_file() and not os.environ.get("CI"):  # ./scripts/test.sh installs it; CI must run this
        pytest.skip("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright import sync_api  # the `browser` extra, which ./scripts/test.sh installs

    project_id, unannotated = make_project(studio.url)
    kept = keep_order_view(Studio.connect(studio.url, LOGIN.token), project_id, "round-0001")
    assert kept.version == "round-0001"
    top = min(unannotated, key=lambda t: unannotated[t][1])
    assert top != min(unannotated)  # the shuffled scores put another task first than id order would
    reply = httpx.get(f"{studio.url}/api/projects/{project_id}/next", params={"view": kept.view_id},
                      headers={"Authorization": f"Token {LOGIN.token}"}, timeout=30)
    assert reply.json()["id"] == top

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{studio.url}/user/login/")
            page.fill("input[name=email]", LOGIN.username)
            page.fill("input[name=password]", LOGIN.password)
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/user/login" not in url, timeout=60_000)
            page.goto(f"{studio.url}/projects/{project_id}/data?tab={kept.view_id}")
            page.get_by_text("nerloop: most useful first").first.wait_for(timeout=60_000)
            page.get_by_role("button", name="Label All Tasks").click()
            # The table behind the editor lists the texts too: the editor has opened a task once its id shows under
            # it (the id's text node comes first, then "1 of 1"; the "#" is drawn by CSS).
            task_id = page.locator(".lsf-current-task__task-id")
            task_id.wait_for(timeout=60_000)
            page.get_by_text(unannotated[top][0], exact=True).first.wait_for(timeout=60_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(tmp_path / "label-all-tasks.png"))
            assert task_id.evaluate("element => element.firstChild.textContent.trim()") == str(top)
        finally:
            browser.close()
