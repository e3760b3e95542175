from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labeling_config import RESTAURANT_CONFIG
from nerloop.cli import app


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, splits_dir: Path, tiny_base: Path) -> tuple[Path, str]:
    models = tmp_path_factory.mktemp("cli") / "models"
    result = CliRunner().invoke(app, [
        "--models-dir", str(models), "train", "--train", str(splits_dir / "train.tsv"),
        "--validation", str(splits_dir / "validation.tsv"), "--test", str(splits_dir / "test.tsv"),
        "--config", str(RESTAURANT_CONFIG), "--base-model", str(tiny_base), "--epochs", "1",
        "--learning-rate", "0.003", "--batch-size", "8", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    first = result.stderr.splitlines()[0]  # a line a person reads, not the Trainer's dict of eval_* keys
    assert re.fullmatch(r"validation at step (\d+) of \1 \(epoch 1\.00\): F1 0\.0000 \(precision 0\.0000, "
                        r"recall 0\.0000\), loss \d+\.\d{4}", first), first
    return models, result.stdout


def test_train_prints_the_round_and_the_decision(trained: tuple[Path, str]) -> None:
    models, output = trained
    lines = output.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("round-0001: micro F1 0.")
    assert lines[1].startswith("promoted: first promoted round (micro F1 ")
    assert lines[2] == f"report: {models / 'project-default' / 'round-0001' / 'report.html'}"


def test_rounds_lists_and_marks_the_served_one(trained: tuple[Path, str], tiny_base: Path) -> None:
    models, _ = trained
    result = CliRunner().invoke(app, ["--models-dir", str(models), "rounds"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "round-0001" in line)
    assert row.split("│")[1].strip() == "*" and "yes" in row
    assert result.output.splitlines()[-1] == "served: round-0001"


def test_evaluate_current_prints_a_table_and_json(trained: tuple[Path, str], splits_dir: Path) -> None:
    models, _ = trained
    runner = CliRunner()
    table = runner.invoke(app, ["--models-dir", str(models), "evaluate", "current", str(splits_dir / "test.tsv")])
    assert table.exit_code == 0, table.output
    assert "micro avg" in table.output and "Restaurant_Name" in table.output
    assert "token accuracy" in table.output
    as_json = runner.invoke(app, ["--models-dir", str(models), "evaluate", "round-0001",
                                  str(splits_dir / "test.tsv"), "--json"])
    data = json.loads(as_json.stdout)
    assert data["sentences"] == 10 and data["micro"]["support"] == 24


def test_report_export(trained: tuple[Path, str], tmp_path: Path) -> None:
    models, _ = trained
    result = CliRunner().invoke(app, ["--models-dir", str(models), "report", "current", "--export", str(tmp_path),
                                      "--format", "md,html"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "project-default" / "round-0001"  # the layout `round --reports` writes
    assert result.stdout == f"wrote {folder / 'report.md'}\nwrote {folder / 'report.html'}\n"
    assert (folder / "report.md").read_text(encoding="utf-8").startswith("# Report for round-0001\n")


def test_unknown_round_is_one_line_and_exit_1(trained: tuple[Path, str], splits_dir: Path) -> None:
    models, _ = trained
    result = CliRunner().invoke(app, ["--models-dir", str(models), "evaluate", "round-0042",
                                      str(splits_dir / "test.tsv")])
    assert result.exit_code == 1
    assert result.output == (f"error: {models / 'project-default'}: no round 'round-0042' (rounds here: round-0001) "
                             "(pass a round-NNNN name from `nerloop rounds`, or 'current')\n")


def test_train_takes_unset_options_from_the_environment(tmp_path: Path, splits_dir: Path, tiny_base: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"BASE_MODEL": str(tiny_base), "EPOCHS": "1", "LEARNING_RATE": "0.003", "BATCH_SIZE": "8",
                       "DEVICE": "cpu", "SEED": "7", "PROMOTE_TOLERANCE": "0.25", "NUM_THREADS": "1"}.items():
        monkeypatch.setenv(f"NERLOOP_TRAIN__{key}", value)
    result = CliRunner().invoke(app, [
        "--models-dir", str(tmp_path / "models"), "train", "--train", str(splits_dir / "train.tsv"),
        "--validation", str(splits_dir / "validation.tsv"), "--test", str(splits_dir / "test.tsv"),
        "--seed", "3"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "models" / "project-default" / "round-0001" / "manifest.json").read_text())
    hyper = manifest["hyperparameters"]
    assert (manifest["base_model"]["name"], hyper["epochs"], hyper["learning_rate"], hyper["batch_size"]) == (
        str(tiny_base), 1.0, 0.003, 8)
    assert (hyper["device"], hyper["promote_tolerance"], hyper["num_threads"]) == ("cpu", 0.25, 1)
    assert manifest["seed"] == 3  # an option given on the command line wins over the environment
    assert (manifest["device"]["kind"], manifest["device"]["threads"]) == ("cpu", 1)

    again = CliRunner().invoke(app, [
        "--models-dir", str(tmp_path / "models"), "train", "--train", str(splits_dir / "train.tsv"),
        "--validation", str(splits_dir / "validation.tsv"), "--test", str(splits_dir / "test.tsv")])
    assert again.exit_code == 0, again.output
    second = json.loads((tmp_path / "models" / "project-default" / "round-0002" / "manifest.json").read_text())
    delta = second["metrics"]["micro_f1"] - manifest["metrics"]["micro_f1"]
    assert again.stdout.splitlines()[1] == f"delta vs round-0001: {delta:+.4f} micro F1"


def test_validation_lines_are_read_by_people() -> None:
    from training.fine_tune import describe_validation

    metrics = {"eval_loss": 0.23449, "eval_precision": 0.7001, "eval_recall": 0.725, "eval_f1": 0.71234,
               "eval_runtime": 3.2, "epoch": 2.0}
    assert describe_validation(648, 972, 2.0, metrics) == ("validation at step 648 of 972 (epoch 2.00): F1 0.7123 "
                                                           "(precision 0.7001, recall 0.7250), loss 0.2345")
    assert describe_validation(1, 2, 0.5, {}) == "validation at step 1 of 2 (epoch 0.50): no scores"
