"""Rounds of a project through the CLI: a growing project keeps its test sentences out of training, a broken served
round stops the next round, the first round records its base model, a bad NERLOOP_* value is one line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from converters.corpus import read_tsv
from nerloop.cli import app
from tests.nerloop.rounds_helpers import annotated_export


def texts(path: Path) -> set[tuple[str, ...]]:
    return {s.tokens for s in read_tsv(path)} if path.exists() else set()


def round_splits(models: Path, project: str, name: str) -> dict[str, set[tuple[str, ...]]]:
    manifest = json.loads((models / f"project-{project}" / name / "manifest.json").read_text())
    folder = Path(manifest["extra"]["source"]["splits"])
    return {split: texts(folder / f"{split}.tsv") for split in ("train", "validation", "test")}


def test_a_growing_project_never_trains_on_its_test_sentences(tmp_path, monkeypatch):
    models = tmp_path / "models"
    monkeypatch.setenv("NERLOOP_MODELS_DIR", str(models))
    monkeypatch.setenv("NERLOOP_WORK_DIR", str(tmp_path / "work"))
    (tmp_path / "n").mkdir()
    (tmp_path / "2n").mkdir()
    small = annotated_export(tmp_path / "n", monkeypatch, sentences=100, test_sentences=5, epochs="1")
    big = annotated_export(tmp_path / "2n", monkeypatch, sentences=200, test_sentences=5, epochs="1")
    monkeypatch.setenv("NERLOOP_TEST_FILE", "")  # no fixed test file: the frozen hash split is the test split
    runner = CliRunner()
    first = runner.invoke(app, ["round", "--export", str(small), "--project", "reviews"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["round", "--export", str(big), "--project", "reviews", "--force"])
    assert second.exit_code == 0, second.output
    one, two = round_splits(models, "reviews", "round-0001"), round_splits(models, "reviews", "round-0002")
    assert one["test"] and one["test"] <= two["test"]
    assert not one["test"] & (two["train"] | two["validation"])
    # round 2's delta scores both models on sentences neither trained on
    assert not two["test"] & (one["train"] | one["validation"] | two["train"] | two["validation"])
    assert "delta vs round-0001: " in second.stdout
    report = json.loads((models / "project-reviews" / "round-0002" / "report.json").read_text())
    assert report["previous"]["round"] == "round-0001"


def test_a_broken_served_round_stops_the_next_round_and_stays_current(tmp_path, monkeypatch):
    models = tmp_path / "models"
    monkeypatch.setenv("NERLOOP_MODELS_DIR", str(models))
    monkeypatch.setenv("NERLOOP_WORK_DIR", str(tmp_path / "work"))
    export = annotated_export(tmp_path, monkeypatch, sentences=60, test_sentences=20, epochs="1")
    runner = CliRunner()
    assert runner.invoke(app, ["round", "--export", str(export)]).exit_code == 0
    weights = models / "project-default" / "round-0001" / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated, as by a full disk
    result = runner.invoke(app, ["round", "--export", str(export)])
    assert result.exit_code == 1
    served = models / "project-default" / "round-0001"
    assert result.output.startswith(f"error: {served}: the served round round-0001 cannot be scored, so the new "
                                    "round cannot be gated (")
    assert result.output.rstrip().endswith("(restore round-0001's model/ folder, or point the project's `current` "
                                           "file at another round (then run the round again))")
    assert (models / "project-default" / "current").read_text() == "round-0001\n"
    assert not (models / "project-default" / "round-0002").exists()
    last = json.loads((models / "project-default" / "project.json").read_text())["last_round"]
    assert last["status"] == "failed" and "cannot be scored" in last["error"]
    listing = runner.invoke(app, ["rounds"])
    assert "last round: failed" in listing.stdout


def test_the_first_round_records_its_base_model_for_later_rounds(tmp_path, monkeypatch):
    models = tmp_path / "models"
    monkeypatch.setenv("NERLOOP_MODELS_DIR", str(models))
    monkeypatch.setenv("NERLOOP_WORK_DIR", str(tmp_path / "work"))
    export = annotated_export(tmp_path, monkeypatch, sentences=60, test_sentences=20, epochs="1")
    base = str(tmp_path / "base")
    result = CliRunner().invoke(app, ["round", "--export", str(export), "--project", "menus"])
    assert result.exit_code == 0, result.output
    path = models / "project-menus" / "project.json"
    assert (f"project menus: base model {base!r} recorded in {path}; its later rounds use it unless told "
            "otherwise") in result.stdout
    assert json.loads(path.read_text())["settings"] == {"base_model": base, "epochs": None, "learning_rate": None,
                                                        "test_file": None, "retrain_every": None}
    # a later round with the environment pointing elsewhere still trains from the recorded base model
    monkeypatch.setenv("NERLOOP_TRAIN__BASE_MODEL", "distilbert-base-uncased")
    again = CliRunner().invoke(app, ["round", "--export", str(export), "--project", "menus", "--force"])
    assert again.exit_code == 0, again.output
    manifest = json.loads((models / "project-menus" / "round-0002" / "manifest.json").read_text())
    assert manifest["base_model"]["name"] == base


def test_a_bad_setting_is_one_line_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("NERLOOP_TRAIN__EPOCHS", "three")
    result = CliRunner().invoke(app, ["rounds"])
    assert result.exit_code == 1
    assert result.output == ("error: invalid setting NERLOOP_TRAIN__EPOCHS='three': Input should be a valid number, "
                             "unable to parse string as a number; fix or unset the variable\n")
