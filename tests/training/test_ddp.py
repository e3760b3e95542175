"""Two-process DDP (gloo on CPU) through torchrun, as `torchrun --nproc_per_node 2 -m nerloop train ...` runs it.

About 30 s on 2 shared cores; deselect with ``-m "not ddp"``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from store import registry

CHILD = Path(__file__).with_name("ddp_child.py")


@pytest.mark.ddp
def test_two_process_round_on_cpu(tmp_path: Path, splits_dir: Path, tiny_base: Path) -> None:
    models = tmp_path / "models"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(CHILD), str(splits_dir), str(models), str(tiny_base)],
                          capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    results = sorted(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    assert results[0] == "RESULT - False rank 1 of a distributed run: rank 0 registers the round"
    assert results[1].startswith("RESULT round-0001 True first promoted round")
    assert [r.name for r in registry.list_rounds(models)] == ["round-0001"]
    assert registry.current_name(models) == "round-0001"
    manifest = json.loads((models / "round-0001" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["device"]["processes"] == 2
    assert manifest["training"]["steps"] == 10  # 40 sentences / (4 per process * 2 processes) * 2 epochs
    assert sorted(p.name for p in models.iterdir()) == [".lock", "current", "round-0001"]
