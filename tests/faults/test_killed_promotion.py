"""The backend (with the round it runs) killed at each step between writing a round and serving it.

A kill at these steps cannot be timed from outside (each is one rename or one small write), so each project here is
given the exact on-disk state that a SIGKILL at that step leaves, and then the real backend is started and the next
real round runs."""

from __future__ import annotations

import shutil

import httpx

from labeling_config import RESTAURANT_CONFIG
from store import registry
from tests.faults.conftest import health, nerloop, served_rounds

STEPS = {
    "1": "killed while the model is written (staging folder)",
    "2": "killed after the round folder is committed, before `current` moves",
    "3": "killed while the new `current` is written (its temp file half written)",
    "4": "killed after `current` moved, before the promotion marker is removed",
}


def crash_state(models, project: str, template) -> None:
    """The on-disk state of ``project`` after the kill that ``STEPS[project]`` names."""
    folder = served_rounds(models, project, template)
    if project == "1":
        half = folder / ".staging-4242-1"
        (half / "model").mkdir(parents=True)
        shutil.copy(template / "model" / "config.json", half / "model")
        return
    shutil.copytree(template, folder / "round-0002")
    (folder / "round-0002" / registry.PROMOTING).touch()
    if project == "3":
        (folder / ".current.4242.tmp").write_text("round-00")
    if project == "4":
        (folder / "current").write_text("round-0002\n")


def test_backend_killed_during_promotion_serves_a_complete_round_and_numbers_on(tmp_path, env, corpus, backend,
                                                                               template_round):
    """Fault: the backend and its round killed (1) while the model is written, (2) after the round folder is
    committed, (3) while the new ``current`` is written, (4) after ``current`` moved. Outcome: after a restart
    each project serves a complete round, the old one or the new one, never a staging folder or half a pointer; the
    next round finishes the cut-short promotion, clears the leftovers and takes the next number."""
    models = tmp_path / "models"
    for project in STEPS:
        crash_state(models, project, template_round)

    served = backend(env)
    config = RESTAURANT_CONFIG.read_text()
    for project in STEPS:
        httpx.post(f"{served.url}/setup", json={"project": f"{project}.1", "schema": config}, timeout=30)
    answers = {project: httpx.post(f"{served.url}/predict", timeout=60, json={
        "project": f"{project}.1", "label_config": config, "tasks": [{"id": 1, "data": {"text": "pizza"}}]}).json()
        for project in STEPS}
    assert {p: a["results"][0]["model_version"] for p, a in answers.items()} == {
        "1": "round-0001", "2": "round-0001", "3": "round-0001", "4": "round-0002"}
    assert {p: s["current"] for p, s in health(served)["projects"].items()} == {
        "1": "round-0001", "2": "round-0001", "3": "round-0001", "4": "round-0002"}
    assert all(a["results"][0]["result"][0]["value"]["text"] == "pizza" for a in answers.values())

    export = str(corpus["export"])
    first = models / "project-1"
    nerloop(env, "round", "--export", export, "--project", "1")
    assert [r.name for r in registry.list_rounds(first)] == ["round-0001", "round-0002"]
    assert registry.current_name(first) == "round-0002"
    assert not list(first.glob(".staging-*"))

    third = models / "project-3"
    finished = nerloop(env, "round", "--export", export, "--project", "3")
    assert ("round-0002 was committed as promoted but `current` was not moved (a round was stopped mid-promotion): "
            "pointing `current` at it") in finished.stderr
    assert [r.name for r in registry.list_rounds(third)] == ["round-0001", "round-0002", "round-0003"]
    assert registry.read_round(third / "round-0003").manifest["gate"]["previous"] == "round-0002"
    assert registry.current_name(third) == "round-0003"
    assert sorted(p.name for p in third.iterdir() if p.name.startswith(".")) == [".lock"]
    assert not [p for p in third.glob("round-*/" + registry.PROMOTING)]
