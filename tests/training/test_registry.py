from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.errors import RegistryError
from store import registry


def stage_round(models_dir: Path, micro_f1: float = 0.5) -> Path:
    staging = registry.new_staging(models_dir)
    (staging / "model").mkdir()
    (staging / "manifest.json").write_text(json.dumps({"metrics": {"micro_f1": micro_f1}}), encoding="utf-8")
    return staging


def test_rounds_are_numbered_in_order_and_staging_is_invisible(tmp_path: Path) -> None:
    first = registry.commit_round(tmp_path, stage_round(tmp_path))
    second = registry.commit_round(tmp_path, stage_round(tmp_path, 0.7))
    leftover = stage_round(tmp_path)  # a round still being built
    assert (first.name, second.name) == ("round-0001", "round-0002")
    assert [r.name for r in registry.list_rounds(tmp_path)] == ["round-0001", "round-0002"]
    assert registry.list_rounds(tmp_path)[1].manifest == {"metrics": {"micro_f1": 0.7}}
    assert registry.next_round_name(tmp_path) == "round-0003"
    assert leftover.name.startswith(".staging-")
    assert registry.clean_staging(tmp_path) == [leftover] and not leftover.exists()


def test_numbering_continues_after_gaps(tmp_path: Path) -> None:
    (tmp_path / "round-0009").mkdir()
    assert registry.commit_round(tmp_path, stage_round(tmp_path)).name == "round-0010"


def test_commit_refuses_a_staging_folder_without_a_model(tmp_path: Path) -> None:
    staging = registry.new_staging(tmp_path)
    with pytest.raises(RegistryError, match="the staged round has no model/ folder"):
        registry.commit_round(tmp_path, staging)
    assert registry.list_rounds(tmp_path) == []


def test_set_current_replaces_the_pointer_atomically(tmp_path: Path) -> None:
    registry.commit_round(tmp_path, stage_round(tmp_path))
    registry.commit_round(tmp_path, stage_round(tmp_path))
    assert registry.current_round(tmp_path) is None
    registry.set_current(tmp_path, "round-0001")
    inode = (tmp_path / "current").stat().st_ino
    registry.set_current(tmp_path, "round-0002")
    assert (tmp_path / "current").read_text(encoding="utf-8") == "round-0002\n"
    assert (tmp_path / "current").stat().st_ino != inode  # a new file renamed over the old one
    assert registry.current_name(tmp_path) == "round-0002"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(RegistryError, match="no round folder 'round-0007'"):
        registry.set_current(tmp_path, "round-0007")


def test_round_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    with registry.round_lock(tmp_path) as lock:
        assert lock.read_text(encoding="utf-8") == f"pid {os.getpid()}\n"
        with pytest.raises(RegistryError) as caught, registry.round_lock(tmp_path):
            pass
        assert str(caught.value) == (f"{tmp_path / '.lock'}: a round is already running (lock held by pid "
                                     f"{os.getpid()}) (wait for it to finish; the lock is released when that "
                                     "process exits)")
    with registry.round_lock(tmp_path):  # released on exit
        pass


def test_resolve_round(tmp_path: Path) -> None:
    registry.commit_round(tmp_path, stage_round(tmp_path))
    with pytest.raises(RegistryError, match="no round has been promoted yet"):
        registry.resolve_round(tmp_path, "current")
    registry.set_current(tmp_path, "round-0001")
    assert registry.resolve_round(tmp_path, "current").name == "round-0001"
    with pytest.raises(RegistryError, match=r"no round 'round-0005' \(rounds here: round-0001\)"):
        registry.resolve_round(tmp_path, "round-0005")


def two_rounds_first_served(models_dir: Path, *, second_marked: bool) -> None:
    """round-0001 served; round-0002 committed, with the ``.promoting`` marker a passing round carries until
    ``current`` names it (or without it, as after a rollback to round-0001)."""
    registry.commit_round(models_dir, stage_round(models_dir))
    registry.set_current(models_dir, "round-0001")
    staging = stage_round(models_dir)
    (staging / "manifest.json").write_text(json.dumps({"promoted": True}), encoding="utf-8")
    if second_marked:
        (staging / registry.PROMOTING).touch()
    registry.commit_round(models_dir, staging)


def test_a_promotion_cut_short_is_finished_by_the_next_round(tmp_path: Path) -> None:
    """Killed after the round folder was committed but before ``current`` moved."""
    two_rounds_first_served(tmp_path, second_marked=True)
    (tmp_path / ".current.4242.tmp").write_text("round-0002", encoding="utf-8")  # a kill inside set_current
    assert registry.finish_promotion(tmp_path) == "round-0002"
    assert registry.current_name(tmp_path) == "round-0002"
    assert not list(tmp_path.glob(".current.*"))
    assert not (tmp_path / "round-0002" / registry.PROMOTING).exists()
    assert registry.finish_promotion(tmp_path) is None  # nothing left to finish


def test_a_rollback_is_never_undone(tmp_path: Path) -> None:
    """round-0002 was promoted, then an operator pointed ``current`` back at round-0001: it stays there."""
    two_rounds_first_served(tmp_path, second_marked=False)
    assert registry.finish_promotion(tmp_path) is None
    assert registry.current_name(tmp_path) == "round-0001"
