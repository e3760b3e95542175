"""The round process killed (SIGKILL) while it trains."""

from __future__ import annotations

import os
import signal

import httpx

from store import registry
from tests.faults.conftest import checkpoint_written, health, nerloop, served_rounds, start_round, wait_for


def test_round_killed_while_training_fails_visibly_and_frees_the_lock(tmp_path, env, corpus, backend,
                                                                       template_round):
    """Fault: ``nerloop round`` gets SIGKILL once its staging folder holds a training checkpoint (watched from
    outside). Outcome: the round shows as failed in ``nerloop rounds``, ``nerloop projects``, the backend's /health
    and /metrics; the lock is free; the served round is unchanged; the next round runs and is numbered next."""
    export = str(corpus["export"])
    registry_dir = served_rounds(tmp_path / "models", "reviews", template_round)

    log = tmp_path / "killed.log"
    long = {**env, "NERLOOP_TRAIN__EPOCHS": "400", "NERLOOP_TRAIN__EVAL_EVERY": "2"}
    child = start_round(long, "--export", export, "--project", "reviews", log=log)
    try:
        wait_for(lambda: checkpoint_written(registry_dir), 120, "a training checkpoint", alive=child, log=log)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(30)
    assert child.returncode == -signal.SIGKILL

    listed = nerloop(env, "rounds", "--project", "reviews").stdout
    assert "served: round-0001\n" in listed
    started = listed.split("started at ")[1].split(" ")[0]
    assert (f"last round: failed  at {started} (start): the round started at {started} (pid {child.pid}) stopped "
            "before it finished (killed, or out of memory); nothing it wrote is served: run the next round\n") in listed
    assert [r.name for r in registry.list_rounds(registry_dir)] == ["round-0001"]
    assert "failed" in nerloop(env, "projects").stdout.split("reviews")[1].split("\n")[0]

    served = backend(env)
    state = health(served)["projects"]["reviews"]
    assert (state["current"], state["last_round"]["status"], state["last_round"]["pid"]) == (
        "round-0001", "failed", child.pid)
    assert 'nerloop_project_last_round_ok{project="reviews"} 0\n' in httpx.get(f"{served.url}/metrics").text

    with registry.round_lock(registry_dir):  # the kernel released the killed round's lock
        pass
    again = nerloop(env, "round", "--export", export, "--project", "reviews")
    assert "round-0002" in again.stdout
    assert [r.name for r in registry.list_rounds(registry_dir)] == ["round-0001", "round-0002"]
    assert registry.current_name(registry_dir) == "round-0002"
    assert not list(registry_dir.glob(".staging-*"))  # the killed round's leftovers were cleaned
    assert health(served)["projects"]["reviews"]["last_round"]["status"] == "promoted"
