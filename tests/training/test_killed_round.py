"""A round killed mid-way (SIGKILL while training) leaves no half round visible, ``current`` untouched, and the
lock free for the next round."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from store import registry

CHILD = """
import sys
from pathlib import Path
from labeling_config import restaurant_config
from training.round_builder import train_round
from store.settings import TrainSettings

splits, models, base, marker = (Path(a) for a in sys.argv[1:5])

def progress(event):
    if event.kind == "step" and event.step >= 2:
        marker.write_text("training")

settings = TrainSettings(base_model=str(base), epochs=500, learning_rate=1e-3, batch_size=8, device="cpu",
                         num_threads=1)
train_round(splits, config=restaurant_config(), models_dir=models, settings=settings, progress=progress)
"""


def test_killed_round_leaves_nothing_visible(tmp_path: Path, splits_dir: Path, tiny_base: Path) -> None:
    models = tmp_path / "models"
    staging = registry.new_staging(models)
    (staging / "model").mkdir()
    # a served round of another label set: the gate does not compare with it, so the child trains at once
    (staging / "manifest.json").write_text(json.dumps({"tags": ["O", "B-Other", "I-Other"]}), encoding="utf-8")
    registry.commit_round(models, staging)
    registry.set_current(models, "round-0001")
    marker = tmp_path / "marker"
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    child = subprocess.Popen([sys.executable, str(script), str(splits_dir), str(models), str(tiny_base), str(marker)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the child never started training"
            time.sleep(0.2)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    leftovers = [p.name for p in models.iterdir() if p.name.startswith(".staging-")]
    assert len(leftovers) == 1  # the half-built round exists only as staging...
    assert [r.name for r in registry.list_rounds(models)] == ["round-0001"]  # ...which readers do not see
    assert registry.current_name(models) == "round-0001"
    with registry.round_lock(models):  # the kernel released the dead process's lock
        assert [p.name for p in registry.clean_staging(models)] == leftovers
    assert sorted(p.name for p in models.iterdir()) == [".lock", "current", "round-0001"]
