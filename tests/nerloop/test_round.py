"""`nerloop round --export`: the round the backend would serve is complete (ONNX included) when promoted, its report
is copied to the folder the user names, and a fixed test file with other labels is refused with what to do."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from labeling_config import render_config
from nerloop.cli import app
from tests.nerloop.rounds_helpers import annotated_export


@pytest.fixture
def export_and_env(tmp_path, monkeypatch):
    monkeypatch.setenv("NERLOOP_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("NERLOOP_WORK_DIR", str(tmp_path / "work"))
    return annotated_export(tmp_path, monkeypatch, sentences=60, test_sentences=20, epochs="1")


def test_onnx_is_exported_before_promotion_and_reports_are_copied(tmp_path, export_and_env, monkeypatch):
    monkeypatch.setenv("NERLOOP_RUNTIME", "onnx")
    reports = tmp_path / "reports"
    result = CliRunner().invoke(app, ["round", "--export", str(export_and_env), "--reports", str(reports)])
    assert result.exit_code == 0, result.output
    model = tmp_path / "models" / "project-default" / "round-0001" / "model"
    assert (model / "model.onnx").is_file()
    manifest = json.loads((model.parent / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["timings"]["prepare_model_s"] > 0
    copies = reports / "project-default" / "round-0001"
    assert sorted(p.name for p in copies.iterdir()) == ["report.html", "report.json", "report.md"]
    assert (copies / "report.json").read_bytes() == (model.parent / "report.json").read_bytes()
    assert result.stdout.splitlines()[-1] == f"report copied to: {copies}"


def test_a_fixed_test_file_with_other_labels_says_what_to_do(tmp_path, export_and_env, monkeypatch):
    config = tmp_path / "people.xml"
    config.write_text(render_config(["Person"]), encoding="utf-8")
    monkeypatch.setenv("NERLOOP_LABEL_CONFIG", str(config))
    result = CliRunner().invoke(app, ["round", "--export", str(export_and_env)])
    assert result.exit_code == 1
    test_file = tmp_path / "test.tsv"
    assert result.output.startswith(f"error: {test_file}:2: the fixed test file does not fit this project's labels "
                                    "(tag 'B-")
    assert result.output.endswith("(set the project's test_file (`nerloop project set --test-file`) to a test file "
                                  "with its labels, or to '' to use the frozen test split of its annotations)\n")
