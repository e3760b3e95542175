"""``project.json`` and a round's ``manifest.json`` corrupted by hand."""

from __future__ import annotations

import json

import httpx

from labeling_config import RESTAURANT_CONFIG
from tests.faults.conftest import health, nerloop, served_rounds


def test_corrupted_project_file_or_manifest_is_named_and_other_projects_work(tmp_path, env, corpus, backend,
                                                                             template_round):
    """Fault: project 1's ``project.json`` gets a wrong value by hand, project 2's manifest is cut short; project 3
    is untouched. Outcome: each command about project 1 or 2 stops with one line naming the file and the field (or
    the line and column of the broken JSON), and the backend serves project 2 nothing and logs that line; project 3's
    rounds, listing and predictions work as before."""
    models = tmp_path / "models"
    first, second, _ = (served_rounds(models, name, template_round) for name in ("1", "2", "3"))
    settings_file = first / "project.json"
    broken = json.loads(settings_file.read_text())
    broken["settings"]["epochs"] = "many"
    settings_file.write_text(json.dumps(broken))
    manifest = second / "round-0001" / "manifest.json"
    manifest.write_text(manifest.read_text()[:20])

    rounds = nerloop(env, "rounds", "--project", "1", code=1)
    assert rounds.stderr.splitlines()[-1] == (
        f"error: {settings_file}: field 'settings.epochs': Input should be a valid number, unable to parse string as "
        "a number (found 'many') (allowed settings: base_model, epochs, learning_rate, test_file, retrain_every)")
    training = nerloop(env, "round", "--project", "1", "--export", str(corpus["export"]), code=1)
    assert training.stderr.splitlines()[-1] == rounds.stderr.splitlines()[-1]
    listed = nerloop(env, "rounds", "--project", "2", code=1)
    assert listed.stderr.splitlines()[-1] == (
        f"error: {manifest}: unreadable manifest (Unterminated string starting at: line 1 column 13 (char 12)) "
        "(restore it or remove the round folder)")
    assert "served: round-0001\n" in nerloop(env, "rounds", "--project", "3").stdout
    every = nerloop(env, "projects", code=1)
    assert every.stdout.splitlines()[-1] == f"project 1: {rounds.stderr.splitlines()[-1].removeprefix('error: ')}"

    served = backend(env)
    state = health(served)["projects"]
    assert state["1"]["last_round"] == {"status": "unknown", "error": rounds.stderr.splitlines()[-1][7:]}
    assert state["3"]["current"] == "round-0001"
    answer = httpx.post(f"{served.url}/predict", timeout=60, json={
        "project": "3.1700000000", "label_config": RESTAURANT_CONFIG.read_text(),
        "tasks": [{"id": 1, "data": {"text": "pizza please"}}]}).json()
    assert [(r["model_version"], [x["value"]["text"] for x in r["result"]]) for r in answer["results"]] == [
        ("round-0001", ["pizza"])]
    other = httpx.post(f"{served.url}/predict", timeout=60, json={
        "project": "2.1700000000", "label_config": RESTAURANT_CONFIG.read_text(),
        "tasks": [{"id": 1, "data": {"text": "pizza please"}}]})
    assert [r["model_version"] for r in other.json()["results"]] == ["no-model"]  # Label Studio keeps working
    assert f"ERROR backend.serving: project 2: {listed.stderr.splitlines()[-1][7:]}\n" in served.log.read_text()
