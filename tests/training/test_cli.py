from __future__ import annotations

import json
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
    return models, result.stdout


def test_train_prints_the_round_and_the_decision(trained: tuple[Path, str]) -> None:
    models, output = trained
    lines = [line for line in output.splitlines() if line.strip()]  # the transient progress bar leaves one
    assert lines[0] == "epoch 1.00: validation F1 0.0000"
    assert lines[1].startswith("round-0001: micro F1 0.")
    assert lines[2].startswith("promoted: first promoted round (micro F1 ")
    assert lines[3] == f"report: {models / 'round-0001' / 'report.html'}"


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
    assert result.stdout == f"wrote {tmp_path / 'report.md'}\nwrote {tmp_path / 'report.html'}\n"
    assert (tmp_path / "report.md").read_text(encoding="utf-8").startswith("# Report for round-0001\n")


def test_unknown_round_is_one_line_and_exit_1(trained: tuple[Path, str], splits_dir: Path) -> None:
    models, _ = trained
    result = CliRunner().invoke(app, ["--models-dir", str(models), "evaluate", "round-0042",
                                      str(splits_dir / "test.tsv")])
    assert result.exit_code == 1
    assert result.output == (f"error: {models}: no round 'round-0042' (rounds here: round-0001) (pass a round-NNNN "
                             "name from `nerloop rounds`, or 'current')\n")
