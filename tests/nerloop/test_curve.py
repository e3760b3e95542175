"""`nerloop curve`: nested fractions of the annotated data, each scored on the same fixed test split."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from converters.corpus import read_tsv, write_tsv
from converters.tasks import tasks_from_sentences
from labeling_config import restaurant_config
from nerloop.cli import app
from nerloop.settings import MIT_DIR
from training.tiny import build_tiny_base_model


def test_curve_trains_each_fraction_and_writes_a_report_with_a_plot(tmp_path, monkeypatch):
    sentences = read_tsv(MIT_DIR / "train.bio")[:160]
    tasks = tasks_from_sentences(sentences, restaurant_config(), as_="annotations")
    export = tmp_path / "export.json"
    export.write_text(json.dumps([{"id": i + 1, **t} for i, t in enumerate(tasks)]), encoding="utf-8")
    test_file = tmp_path / "test.tsv"
    write_tsv(test_file, read_tsv(MIT_DIR / "test.bio")[:60])
    base = build_tiny_base_model(tmp_path / "base", [w for s in sentences + read_tsv(test_file) for w in s.tokens])
    for key, value in {"NERLOOP_TEST_FILE": str(test_file), "NERLOOP_TRAIN__BASE_MODEL": str(base),
                       "NERLOOP_TRAIN__EPOCHS": "2", "NERLOOP_TRAIN__LEARNING_RATE": "0.003",
                       "NERLOOP_TRAIN__BATCH_SIZE": "8", "NERLOOP_TRAIN__NUM_THREADS": "1"}.items():
        monkeypatch.setenv(key, value)

    out = tmp_path / "curve"
    result = CliRunner().invoke(app, ["curve", "--export", str(export), "--fractions", "0.5,1", "--out", str(out)])

    assert result.exit_code == 0, result.output
    curve = json.loads((out / "curve.json").read_text())
    assert curve["test_sentences"] == 60
    # 160 annotated sentences, none in the fixed test split: train/validation cut 0.8 : 0.1 -> 142 train.
    assert [(p["fraction"], p["train_sentences"]) for p in curve["points"]] == [(0.5, 71), (1.0, 142)]
    assert all(0.0 <= p["f1"] <= 1.0 for p in curve["points"])
    assert "| 50% | 71 |" in (out / "curve.md").read_text()
    assert "data:image/png;base64," in (out / "curve.html").read_text()
    assert f"report: {out / 'curve.html'}" in result.output.splitlines()


def test_curve_rejects_fractions_outside_zero_to_one(tmp_path):
    result = CliRunner().invoke(app, ["curve", "--export", str(tmp_path / "x.json"), "--fractions", "0,1.5"])
    assert result.exit_code == 1
    assert result.output == ("error: fractions must be in (0, 1], got [0.0, 1.5] (e.g. --fractions 0.25,0.5,1)\n")
