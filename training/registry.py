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

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labeling_config.errors import RegistryError

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
