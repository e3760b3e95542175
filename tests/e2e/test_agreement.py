"""Two real users annotate the same tasks through Label Studio's API with their own tokens; `nerloop agreement
--project` reads the project and reports their agreement. The label-error finder's publishing step writes its
suggestions as `label-issues` predictions into the same project. One Label Studio start."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from label_studio_sdk import LabelStudio

from labeling_config import RESTAURANT_CONFIG
from nerloop.settings import Settings
from quality.audit import MODEL_VERSION, publish_issues
from tests.e2e.conftest import LOGIN, nerloop_env

pytestmark = pytest.mark.e2e
TEXTS = ["cheap pizza near me", "best sushi in boston", "tacos open late"]
ANNOTATOR = ("annotator@example.com", "annotator-password-2")


def region(text: str, words: str, label: str) -> dict:
    start = text.index(words)
    return {"from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": start + len(words), "text": words, "labels": [label]}}


def sign_up(url: str, email: str, password: str) -> str:
    """Create a user the way a person does (the signup form), then read their API token with their session."""
    with httpx.Client(base_url=url, follow_redirects=True, timeout=60) as browser:
        page = browser.get("/user/signup/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        data = {"email": email, "password": password,
                "csrfmiddlewaretoken": csrf.group(1) if csrf else browser.cookies["csrftoken"]}
        reply = browser.post("/user/signup/", data=data, headers={"Referer": f"{url}/user/signup/"})
        assert reply.status_code == 200, reply.text[:300]
        token = browser.get("/api/current-user/token")
        assert token.status_code == 200, token.text[:300]
        return token.json()["token"]


@pytest.fixture(scope="module")
def project(studio) -> tuple[int, dict[str, int]]:  # type: ignore[no-untyped-def]
    """A project whose three tasks both users annotated: they agree on task 1, differ on tasks 2 and 3."""
    admin = LabelStudio(base_url=studio.url, api_key=LOGIN.token)
    created = admin.projects.create(title="agreement", label_config=RESTAURANT_CONFIG.read_text())
    task_ids = admin.projects.import_tasks(id=created.id, request=[{"text": t} for t in TEXTS],
                                           return_task_ids=True).task_ids
    other = LabelStudio(base_url=studio.url, api_key=sign_up(studio.url, *ANNOTATOR))
    first, second, third = TEXTS
    by_admin = [[region(first, "cheap", "Price"), region(first, "pizza", "Dish")],
                [region(second, "best", "Rating"), region(second, "sushi", "Dish"),
                 region(second, "boston", "Location")],
                [region(third, "tacos", "Dish"), region(third, "open late", "Hours")]]
    by_other = [[region(first, "cheap", "Price"), region(first, "pizza", "Dish")],
                [region(second, "best", "Rating"), region(second, "sushi", "Cuisine"),
                 region(second, "boston", "Location")],
                [region(third, "tacos", "Dish"), region(third, "late", "Hours")]]
    for client, results in ((admin, by_admin), (other, by_other)):
        for task_id, result in zip(task_ids, results, strict=True):
            client.annotations.create(id=task_id, result=result)
    return created.id, dict(zip(TEXTS, task_ids, strict=True))


def test_two_annotators_agreement_from_a_live_project(studio, project, tiny_base, small_test_file,
                                                      tmp_path: Path) -> None:
    project_id, task_of = project
    env = nerloop_env(tmp_path, studio, tiny_base, small_test_file)
    done = subprocess.run([sys.executable, "-m", "nerloop", "agreement", "--project", str(project_id), "--json"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["tasks_compared"] == 3
    [pair] = summary["pairs"]
    assert pair["annotators"] == [LOGIN.username, ANNOTATOR[0]]
    # 7 spans each, 5 identical (sushi's type and 'open late' vs 'late' differ): F1 = 10 / 14.
    assert (pair["tasks"], pair["spans"], pair["matched"], pair["span_f1"]) == (3, [7, 7], 5, round(10 / 14, 4))
    # 11 tokens, 9 agree. Admin: Price 1, Dish 3, O 3, Rating 1, Location 1, Hours 2; the other: Price 1, Dish 2,
    # O 4, Rating 1, Cuisine 1, Location 1, Hours 1. Expected agreement (1 + 6 + 12 + 1 + 1 + 2) / 121 = 23/121,
    # observed 99/121: kappa = 76/98.
    assert pair["tokens"] == 11 and pair["kappa"] == round(76 / 98, 4)
    assert pair["by_label"]["Dish"] == {"span_f1": round(4 / 5, 4), "spans": [3, 2], "matched": 2}
    assert sorted(d["task"] for d in summary["disagreements"]) == sorted([task_of[TEXTS[1]], task_of[TEXTS[2]]])
    link = f"{studio.url}/projects/{project_id}/data?task={task_of[TEXTS[1]]}"
    assert link in [d["link"] for d in summary["disagreements"]]


def test_published_label_issues_are_predictions_reviewers_can_filter(studio, project) -> None:
    project_id, task_of = project
    settings = Settings(studio_url=studio.url, studio_api_key=LOGIN.token)
    text = TEXTS[1]
    issue = {"task": task_of[text], "score": 0.0123,
             "suggested_spans": [{"start": 5, "end": 10, "text": "sushi", "label": "Cuisine"}]}
    assert publish_issues(settings, project_id, [issue]) == 1
    assert publish_issues(settings, project_id, [issue]) == 1  # a new audit replaces the old predictions
    admin = LabelStudio(base_url=studio.url, api_key=LOGIN.token)
    found = [p for p in admin.predictions.list(project=project_id) if p.model_version == MODEL_VERSION]
    assert [(p.task, round(p.score, 4)) for p in found] == [(task_of[text], 0.0123)]
    assert found[0].result == [{"from_name": "label", "to_name": "text", "type": "labels",
                                "value": {"start": 5, "end": 10, "text": "sushi", "labels": ["Cuisine"]}}]
