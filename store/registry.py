"""The registry of rounds under one models directory, and the ``current`` pointer the backend serves.

Layout::

    models/
      current               # the served round's folder name + newline; replaced atomically (os.replace)
      round-0001/           # model/ (save_pretrained), manifest.json, report.json|md|html
      .staging-<pid>-<n>/   # a round being built; renamed to round-NNNN only when complete

A round folder exists only once it is complete, so a round killed mid-way leaves only a staging folder, which
readers ignore and ``clean_staging`` removes.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import RegistryError

log = logging.getLogger(__name__)
CURRENT = "current"
ROUND_NAME = re.compile(r"^round-(\d{4,})$")


@dataclass(frozen=True)
class RoundRecord:
    name: str
    path: Path
    manifest: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def model_dir(self) -> Path:
        return self.path / "model"

    @property
    def number(self) -> int:
        return int(ROUND_NAME.match(self.name).group(1))  # type: ignore[union-attr]


def read_round(path: Path) -> RoundRecord:
    manifest_path = path / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        manifest = {}
    except (OSError, json.JSONDecodeError) as exc:
        raise RegistryError(f"unreadable manifest ({exc})", where=str(manifest_path),
                            hint="restore it or remove the round folder") from exc
    return RoundRecord(path.name, path, manifest)


def list_rounds(models_dir: str | Path) -> list[RoundRecord]:
    """Complete rounds, oldest first."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    paths = [p for p in models_dir.iterdir() if p.is_dir() and ROUND_NAME.match(p.name)]
    return [read_round(p) for p in sorted(paths, key=lambda p: int(ROUND_NAME.match(p.name).group(1)))]


def current_name(models_dir: str | Path) -> str | None:
    """The served round's name, or None when nothing was promoted yet."""
    pointer = Path(models_dir) / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not ROUND_NAME.match(name) or not (Path(models_dir) / name).is_dir():
        raise RegistryError(f"points to {name!r}, which is not a round folder here", where=str(pointer),
                            hint="write the name of an existing round-NNNN folder into it, or delete it")
    return name


def current_round(models_dir: str | Path) -> RoundRecord | None:
    name = current_name(models_dir)
    return read_round(Path(models_dir) / name) if name else None


def set_current(models_dir: str | Path, name: str) -> None:
    """Point ``current`` at a round, atomically: readers see the old name or the new one, never half a file."""
    models_dir = Path(models_dir)
    if not (models_dir / name).is_dir():
        raise RegistryError(f"no round folder {name!r}", where=str(models_dir), hint="promote an existing round")
    tmp = models_dir / f".{CURRENT}.{os.getpid()}.tmp"
    tmp.write_text(name + "\n", encoding="utf-8")
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, models_dir / CURRENT)


LOCK = ".lock"
STAGING_PREFIX = ".staging-"


@contextmanager
def round_lock(models_dir: str | Path) -> Iterator[Path]:
    """Hold the registry's round lock (``flock`` on ``models_dir/.lock``); RegistryError if another holds it.

    The kernel releases the lock when its process dies, so a killed round never blocks the next one.
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / LOCK
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RegistryError(f"a round is already running (lock held by {holder})", where=str(path),
                                hint="wait for it to finish; the lock is released when that process exits") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield path
    finally:
        handle.close()  # closing releases the flock


def new_staging(models_dir: str | Path, tag: str | None = None) -> Path:
    """Create a ``.staging-*`` folder for a round being built (readers never list it).

    ``tag`` names it exactly (the processes of one torchrun share ``.staging-<tag>``); else pid and time do.
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / f"{STAGING_PREFIX}{tag or f'{os.getpid()}-{time.time_ns()}'}"
    path.mkdir(parents=True, exist_ok=tag is not None)
    return path


def next_round_name(models_dir: str | Path) -> str:
    rounds = list_rounds(models_dir)
    return f"round-{(rounds[-1].number + 1) if rounds else 1:04d}"


def commit_round(models_dir: str | Path, staging: Path) -> RoundRecord:
    """Rename a complete staging folder to the next ``round-NNNN`` (call under ``round_lock``)."""
    models_dir = Path(models_dir)
    if not (staging / "model").is_dir():
        raise RegistryError("the staged round has no model/ folder", where=str(staging),
                            hint="this is a bug in the caller: stage the model before committing")
    target = models_dir / next_round_name(models_dir)
    os.rename(staging, target)  # atomic on one filesystem; fails rather than overwrite a non-empty folder
    _fsync_dir(models_dir)
    return read_round(target)


def clean_staging(models_dir: str | Path) -> list[Path]:
    """Remove the staging folders left by killed rounds (call under ``round_lock`` so none is in use)."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    removed = [p for p in models_dir.iterdir() if p.is_dir() and p.name.startswith(STAGING_PREFIX)]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


PROMOTING = ".promoting"  # in a round folder: committed, `current` not yet moved to it


def promote(models_dir: str | Path, record: RoundRecord) -> None:
    """Point ``current`` at a committed round and drop its ``.promoting`` marker (written before the commit)."""
    set_current(models_dir, record.name)
    (record.path / PROMOTING).unlink(missing_ok=True)


def finish_promotion(models_dir: str | Path) -> str | None:
    """Complete a promotion cut short between committing a round and moving ``current`` (call under
    ``round_lock``): a round folder that still holds the ``.promoting`` marker is promoted now. A rollback (someone
    pointed ``current`` back at an older round) leaves no marker, so it is never undone. Also removes pointer temp
    files a kill left. Returns the round it promoted."""
    models_dir = Path(models_dir)
    for stale in models_dir.glob(f".{CURRENT}.*.tmp"):
        stale.unlink(missing_ok=True)
    pending = [r for r in list_rounds(models_dir) if (r.path / PROMOTING).exists()]
    for record in pending[:-1]:  # superseded by a newer committed round: nothing to finish
        (record.path / PROMOTING).unlink(missing_ok=True)
    if not pending:
        return None
    newest = pending[-1]
    if current_name(models_dir) != newest.name:
        log.warning("%s was committed as promoted but `current` was not moved (a round was stopped "
                    "mid-promotion): pointing `current` at it", newest.name)
    promote(models_dir, newest)
    return newest.name


def resolve_round(models_dir: str | Path, name: str) -> RoundRecord:
    """A round by name, or ``current``; RegistryError naming the rounds that exist when it is not there."""
    models_dir = Path(models_dir)
    if name == CURRENT:
        record = current_round(models_dir)
        if record is None:
            raise RegistryError("no round has been promoted yet", where=str(models_dir / CURRENT),
                                hint="train one with `nerloop train`")
        return record
    if not ROUND_NAME.match(name) or not (models_dir / name).is_dir():
        known = ", ".join(r.name for r in list_rounds(models_dir)) or "none"
        raise RegistryError(f"no round {name!r} (rounds here: {known})", where=str(models_dir),
                            hint="pass a round-NNNN name from `nerloop rounds`, or 'current'")
    return read_round(models_dir / name)


def write_json(path: Path, data: Any) -> None:
    """Write JSON via a temporary file and os.replace, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
