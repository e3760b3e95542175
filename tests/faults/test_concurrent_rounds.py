"""Two rounds of one project started at once: one from the CLI, one from the backend's Train button."""

from __future__ import annotations

import json
import sys

import httpx

from store import projects, registry
from tests.faults.conftest import health, served_rounds, start_round, wait_for


def test_two_rounds_of_one_project_at_once_take_turns(tmp_path, env, corpus, backend, template_round):
    """Fault: ``nerloop round --project 7`` trains while the backend's Train button starts another round of project
    7. Outcome: the backend's round says it waits for the running one (naming its pid) and starts only when that one
    ended; never two staging folders at once; both rounds register, numbered one after the other."""
    models = tmp_path / "models"
    registry_dir = served_rounds(models, "7", template_round)
    export = str(corpus["export"])
    command = [sys.executable, "-m", "nerloop", "round", "--export", export]
    served = backend({**env, "NERLOOP_ROUND_COMMAND": json.dumps(command)})

    log = tmp_path / "cli-round.log"
    cli = start_round({**env, "NERLOOP_TRAIN__EPOCHS": "20"}, "--project", "7", "--export", export, log=log)
    try:
        wait_for(lambda: list(registry_dir.glob(".staging-*")), 120, "the CLI round to train", alive=cli, log=log)
        hook = httpx.post(f"{served.url}/webhook", json={"action": "START_TRAINING", "project": {"id": 7}}).json()
        assert hook["status"] == "started"
        logs = models / "logs"

        def waiting() -> bool:
            assert len(list(registry_dir.glob(".staging-*"))) <= 1, "two rounds write at once"
            return any("waiting for the running round" in p.read_text() for p in logs.glob("project-7-*.log"))

        wait_for(waiting, 60, "the backend's round to wait for the CLI's", alive=cli, log=log)
        (round_log,) = logs.glob("project-7-*.log")
        assert (f"waiting for the running round (pid {cli.pid}) to finish: rounds share the cores or the GPU, so "
                "they run one at a time\n") in round_log.read_text()
        assert health(served)["projects"]["7"]["round_running"] is True
        assert cli.wait(240) == 0, log.read_text()[-3000:]

        def both_done() -> bool:
            assert len(list(registry_dir.glob(".staging-*"))) <= 1, "two rounds write at once"
            return not health(served)["projects"]["7"]["round_running"]

        wait_for(both_done, 240, "the backend's round to finish", log=round_log)
    finally:
        cli.kill()
        cli.wait(30)
    rounds = registry.list_rounds(registry_dir)
    assert [r.name for r in rounds] == ["round-0001", "round-0002", "round-0003"]
    assert rounds[2].manifest["started"] >= rounds[1].manifest["created"]  # the second began after the first ended
    assert registry.current_name(registry_dir) == "round-0003"
    assert projects.read_project(models, "7").last_round["status"] == "promoted"
    assert not list(registry_dir.glob(".staging-*"))
