"""A Label Studio JSON export of MIT sentences, a small fixed test file and a tiny base model, wired up through the
environment the way a user configures nerloop (for the round and curve commands' tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from converters.corpus import read_tsv, write_tsv
from converters.tasks import tasks_from_sentences
from labeling_config import restaurant_config
from nerloop.settings import MIT_DIR
from training.tiny import build_tiny_base_model


def annotated_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, sentences: int, test_sentences: int,
                     **train: str) -> Path:
    """Write the export (the first ``sentences`` of MIT train, annotated) and point NERLOOP_* at a fixed test file
    (the first ``test_sentences`` of MIT test) and a tiny base model; ``train`` adds NERLOOP_TRAIN__<KEY> values."""
    chosen = read_tsv(MIT_DIR / "train.bio")[:sentences]
    tasks = tasks_from_sentences(chosen, restaurant_config(), as_="annotations")
    export = tmp_path / "export.json"
    export.write_text(json.dumps([{"id": i + 1, **t} for i, t in enumerate(tasks)]), encoding="utf-8")
    test_file = tmp_path / "test.tsv"
    write_tsv(test_file, read_tsv(MIT_DIR / "test.bio")[:test_sentences])
    base = build_tiny_base_model(tmp_path / "base", [w for s in chosen + read_tsv(test_file) for w in s.tokens])
    monkeypatch.setenv("NERLOOP_TEST_FILE", str(test_file))
    monkeypatch.setenv("NERLOOP_TRAIN__BASE_MODEL", str(base))
    for key, value in {"BATCH_SIZE": "8", "NUM_THREADS": "1", **train}.items():
        monkeypatch.setenv(f"NERLOOP_TRAIN__{key.upper()}", value)
    return export
