from __future__ import annotations

import sys
import time

from backend.prometheus import Metrics
from backend.scheduler import RetrainScheduler
from backend.settings import BackendSettings


def wait_idle(runner: RetrainScheduler) -> None:
    deadline = time.monotonic() + 20
    while runner.busy():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_round_command_that_cannot_start_is_a_failed_round(tmp_path):
    metrics = Metrics()
    runner = RetrainScheduler(BackendSettings(models_dir=tmp_path, round_command=[str(tmp_path / "missing")]), metrics)
    assert runner.start_training("3") == "started"
    wait_idle(runner)
    state = runner.state("3")
    assert state is not None and state.history[0]["exit_code"] is None
    assert "cannot start the round command" in (tmp_path / "logs" / state.history[0]["log"].split("/")[-1]).read_text()
    assert metrics.value("nerloop_rounds_failed_total") == 1


def test_every_n_annotations_and_retrain_every_zero(tmp_path):
    command = [sys.executable, "-c", "pass"]
    runner = RetrainScheduler(BackendSettings(models_dir=tmp_path, round_command=command, retrain_every=3), Metrics())
    assert [runner.annotation_event("1") for _ in range(3)] == ["counted", "counted", "started"]
    wait_idle(runner)
    manual = RetrainScheduler(BackendSettings(models_dir=tmp_path, round_command=command, retrain_every=0), Metrics())
    assert {manual.annotation_event("1") for _ in range(20)} == {"counted"}
    assert manual.state("1").started == 0
