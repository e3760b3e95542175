"""`nerloop audit --project ID --publish` against a real Label Studio: the project's own annotations are exported,
the planted errors come out on top with links to their tasks, the audit is kept for the project's reports, and the
suspects become `label-issues` predictions on exactly those tasks."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from label_studio_sdk import LabelStudio

from converters.tasks import tasks_from_sentences
from labeling_config import RESTAURANT_CONFIG, restaurant_config
from quality.audit import MODEL_VERSION
from tests.e2e.conftest import LOGIN, nerloop_env
from tests.quality.test_audit import PLANTED, corpus
from training.tiny import build_tiny_base_model

pytestmark = pytest.mark.e2e


def test_audit_of_a_live_project_links_and_publishes_its_suspects(studio, small_test_file, tmp_path: Path) -> None:
    client = LabelStudio(base_url=studio.url, api_key=LOGIN.token)
    project = client.projects.create(title="audit", label_config=RESTAURANT_CONFIG.read_text())
    sentences = corpus()
    task_ids = client.projects.import_tasks(
        id=project.id, request=tasks_from_sentences(sentences, restaurant_config(), as_="annotations"),
        return_task_ids=True).task_ids
    planted = sorted(task_ids[i - 1] for i in PLANTED)
    base = build_tiny_base_model(tmp_path / "base", [w for s in sentences for w in s.tokens])
    env = nerloop_env(tmp_path, studio, base, small_test_file, NERLOOP_TRAIN__EPOCHS="16",
                      NERLOOP_TRAIN__LEARNING_RATE="0.005", NERLOOP_TRAIN__WARMUP_RATIO="0")

    done = subprocess.run([sys.executable, "-m", "nerloop", "audit", "--project", str(project.id), "--folds", "2",
                           "--json", "--publish"], env=env, capture_output=True, text=True, timeout=600)

    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    issues = found["issues"]
    assert sorted(i["task"] for i in issues[: len(PLANTED)]) == planted, [(i["task"], i["text"]) for i in issues]
    first = issues[0]
    assert first["link"] == f"{studio.url}/projects/{project.id}/data?task={first['task']}"
    assert first["annotator"] == LOGIN.username
    assert first["annotation"] in {a.id for a in client.annotations.list(id=first["task"])}
    assert f"published {len(issues)} prediction(s) with model_version '{MODEL_VERSION}'" in done.stderr
    saved = json.loads((tmp_path / "models" / f"project-{project.id}" / "audit.json").read_text())
    assert [i["task"] for i in saved["issues"]] == [i["task"] for i in issues] and saved["folds"] == 2

    published = Counter(p.task for p in client.predictions.list(project=project.id)
                        if p.model_version == MODEL_VERSION)
    assert published == Counter(i["task"] for i in issues)  # one prediction per suspect, on its own task
    suggestion = next(p for p in client.predictions.list(task=first["task"]) if p.model_version == MODEL_VERSION)
    assert [r["value"]["labels"] for r in suggestion.result] == [[s["label"]] for s in first["suggested_spans"]]
