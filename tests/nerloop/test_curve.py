"""`nerloop curve`: nested fractions of the annotated data, each scored on the same fixed test split."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from nerloop.cli import app
from tests.nerloop.rounds_helpers import annotated_export


def test_curve_trains_each_fraction_and_writes_a_report_with_a_plot(tmp_path, monkeypatch):
    monkeypatch.setenv("NERLOOP_MODELS_DIR", str(tmp_path / "models"))  # the project's salt lives in its registry
    monkeypatch.setenv("NERLOOP_WORK_DIR", str(tmp_path / "work"))
    export = annotated_export(tmp_path, monkeypatch, sentences=160, test_sentences=60, epochs="2",
                              learning_rate="0.003")

    out = tmp_path / "curve"
    result = CliRunner().invoke(app, ["curve", "--export", str(export), "--fractions", "0.5,1", "--out", str(out)])

    assert result.exit_code == 0, result.output
    curve = json.loads((out / "curve.json").read_text())
    assert curve["test_sentences"] == 60
    # 160 annotated sentences, none in the fixed test split: train/validation hashed 0.8 : 0.1 (the default
    # project's salt) -> 140.
    assert [(p["fraction"], p["train_sentences"]) for p in curve["points"]] == [(0.5, 70), (1.0, 140)]
    assert all(0.0 <= p["f1"] <= 1.0 for p in curve["points"])
    assert "| 50% | 70 |" in (out / "curve.md").read_text()
    assert "data:image/png;base64," in (out / "curve.html").read_text()
    assert f"report: {out / 'curve.html'}" in result.output.splitlines()


def test_curve_rejects_fractions_outside_zero_to_one(tmp_path):
    result = CliRunner().invoke(app, ["curve", "--export", str(tmp_path / "x.json"), "--fractions", "0,1.5"])
    assert result.exit_code == 1
    assert result.output == ("error: fractions must be in (0, 1], got [0.0, 1.5] (e.g. --fractions 0.25,0.5,1)\n")
