"""The disk fills up while a round writes its model, or its report."""

from __future__ import annotations

import resource
import subprocess
import sys
import threading
from pathlib import Path

from converters.corpus import read_tsv, write_tsv
from nerloop.demo import MIT_DIR
from store import projects, registry
from tests.faults.conftest import ROOT, nerloop, served_rounds, wait_for

LIMIT = 80_000  # bytes per file: more than a split file or the report, less than the tiny model's weights (94 kB)
REPORT_LIMIT = 1_000  # bytes per file: less than any of the report's files


def no_file_over_limit() -> None:
    """In the child: a write past LIMIT bytes fails with EFBIG ("File too large"), as on a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def assert_nothing_registered(models: Path, registry_dir: Path, weights: bytes, error: str) -> None:
    """The served round-0001 is the only round, still served, its weights unchanged; no staging folder is left;
    the project records the round as failed with ``error``."""
    assert [r.name for r in registry.list_rounds(registry_dir)] == ["round-0001"]
    assert registry.current_name(registry_dir) == "round-0001"
    assert (registry_dir / "round-0001" / "model" / "model.safetensors").read_bytes() == weights
    assert not list(registry_dir.glob(".staging-*"))
    last = projects.read_project(models, "reviews").last_round
    assert (last["status"], f"error: {last['error']}") == ("failed", error)


def test_disk_full_while_writing_the_model_fails_the_round_and_registers_nothing(tmp_path, env, corpus,
                                                                                   template_round):
    """Fault: ``nerloop round`` may write no file over 80 kB (``RLIMIT_FSIZE``), so saving its model fails the way
    a full disk does. Outcome: a failed round whose error names the folder it was writing; no round folder, no
    staging folder left; the served round intact and still served."""
    models = tmp_path / "models"
    registry_dir = served_rounds(models, "reviews", template_round)
    weights = (registry_dir / "round-0001" / "model" / "model.safetensors").read_bytes()
    failed = nerloop(env, "round", "--export", str(corpus["export"]), "--project", "reviews", code=1,
                     preexec_fn=no_file_over_limit)
    error = failed.stderr.splitlines()[-1]
    assert error.startswith(f"error: {registry_dir}/.staging-"), failed.stderr[-3000:]
    assert error.endswith(
        ": could not write the round's files (Error while serializing: I/O error: File too large (os error 27)); "
        f"nothing was registered (free space on the disk of {registry_dir} (or raise its quota or file size limit), "
        "then run the round again)")
    assert_nothing_registered(models, registry_dir, weights, error)


def test_disk_full_while_writing_the_report_fails_the_round_and_registers_nothing(tmp_path, env, corpus,
                                                                                    template_round):
    """Fault: once ``nerloop round`` has saved its model (its log says it trained), it may write no file over 1 kB
    (``prlimit`` on the running process), so writing the report after the evaluation fails the way a full disk
    does. The evaluation runs on the 1,521 MIT test sentences, so the limit is in place long before the report is
    written. Outcome: as for the model: a failed round naming the folder; nothing registered; the served round
    intact and served."""
    models = tmp_path / "models"
    registry_dir = served_rounds(models, "reviews", template_round)
    weights = (registry_dir / "round-0001" / "model" / "model.safetensors").read_bytes()
    write_tsv(tmp_path / "test.tsv", read_tsv(MIT_DIR / "test.bio"))
    child = subprocess.Popen(  # its output through a pipe: a log file would fall under the limit too
        [sys.executable, "-m", "nerloop", "round", "--export", str(corpus["export"]), "--project", "reviews"],
        env={**env, "NERLOOP_TEST_FILE": str(tmp_path / "test.tsv")}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(child.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any(" trained " in line for line in lines), 240, "the model to be saved", alive=child)
        resource.prlimit(child.pid, resource.RLIMIT_FSIZE, (REPORT_LIMIT, REPORT_LIMIT))
        assert child.wait(240) == 1, "".join(lines)[-3000:]
    finally:
        child.kill()
        child.wait(30)
    reader.join(30)
    error = lines[-1].strip()
    assert error.startswith(f"error: {registry_dir}/.staging-"), "".join(lines)[-3000:]
    assert any(line.startswith(f"INFO training.evaluate: evaluating {registry_dir}/.staging-") for line in lines)
    assert error.endswith(
        ": could not write the round's files ([Errno 27] File too large); nothing was registered (free space on the "
        f"disk of {registry_dir} (or raise its quota or file size limit), then run the round again)")
    assert_nothing_registered(models, registry_dir, weights, error)
