"""The disk fills up while a round writes its model."""

from __future__ import annotations

import resource

from store import projects, registry
from tests.faults.conftest import nerloop, served_rounds

LIMIT = 80_000  # bytes per file: more than a split file or the report, less than the tiny model's weights (94 kB)


def no_file_over_limit() -> None:
    """In the child: a write past LIMIT bytes fails with EFBIG ("File too large"), as on a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


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
    assert [r.name for r in registry.list_rounds(registry_dir)] == ["round-0001"]
    assert registry.current_name(registry_dir) == "round-0001"
    assert (registry_dir / "round-0001" / "model" / "model.safetensors").read_bytes() == weights
    assert not list(registry_dir.glob(".staging-*"))
    last = projects.read_project(models, "reviews").last_round
    assert (last["status"], f"error: {last['error']}") == ("failed", error)
