"""What a round records about itself (``manifest.json``): data, labels, base model, hyperparameters, code
version, timings, device and the gate decision, so a round can be explained and reproduced later."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from labeling_config.config import LabelConfig
from store.settings import TrainSettings
from training.fine_tune import FineTuneResult
from training.split_files import Splits, hash_sentences

REPO_DIR = Path(__file__).resolve().parent.parent


def code_version() -> dict[str, str | None]:
    """nerloop's installed version and, when running from a git checkout, its commit (``+dirty`` if modified)."""
    try:
        version: str | None = metadata.version("nerloop")
    except metadata.PackageNotFoundError:
        version = None
    commit = None
    try:
        head = subprocess.run(["git", "-C", str(REPO_DIR), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO_DIR), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        commit = head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return {"nerloop": version, "git_commit": commit}


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def build_manifest(*, config: LabelConfig, settings: TrainSettings, splits: Splits, test_source: str,
                   test_hash: str, base_source: str, base_hash: str | None, result: FineTuneResult,
                   timings: dict[str, float], started: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    import torch
    import transformers

    return {
        "created": now(), "started": started,
        "data": {"hash": hash_sentences(splits.train, splits.validation), "counts": splits.counts(),
                 "files": splits.files, "test": {"source": test_source, "hash": test_hash}},
        "labels": list(config.labels), "tags": list(config.tags),
        "base_model": {"name": settings.base_model, "source": base_source, "weights_sha256": base_hash},
        "hyperparameters": {**settings.model_dump(mode="json"), "learning_rate": settings.resolved_learning_rate},
        "seed": settings.seed,
        "code": {**code_version(), "torch": torch.__version__, "transformers": transformers.__version__,
                 "python": platform.python_version()},
        "device": {"kind": result.device.kind, "name": result.device.name, "precision": result.device.precision,
                   "threads": result.device.threads, "processes": int(os.environ.get("WORLD_SIZE", "1"))},
        "executor": dict(result.executor),
        "training": {"steps": result.steps, "best_validation_f1": result.best_f1,
                     "best_checkpoint": result.best_checkpoint, "validation_history": list(result.history)},
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "extra": dict(extra or {}),
    }
