"""A round's data stage streams the export into the same split files `nerloop convert export` writes, and keeps
the test split with each sentence's task."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from core.errors import TrainingError
from labeling_config import restaurant_config
from nerloop.cli import app
from nerloop.round_data import split_round_export
from nerloop.settings import Settings
from tests.converters.converter_helpers import FIXTURES


def files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("export", ["studio_export.json", "studio_export.conll"])
def test_a_rounds_split_files_are_those_of_the_conversion(tmp_path, export):
    settings = Settings(test_file=None, split_ratios=(0.6, 0.2, 0.2), annotation_policy="newest")
    data = split_round_export(settings, salt="s2", export_file=FIXTURES / export, config=restaurant_config(),
                              split_dir=tmp_path / "round")
    result = CliRunner().invoke(app, ["convert", "export", str(FIXTURES / export), "--out", str(tmp_path / "cli"),
                                      "--salt", "s2", "--ratios", "0.6,0.2,0.2"])
    assert result.exit_code == 0, result.output
    assert files(data.split_dir) == files(tmp_path / "cli")
    saved = json.loads((data.split_dir / "conversion.json").read_text(encoding="utf-8"))
    assert saved["splits"]["test"]["sentences"] == len(data.test) > 0
    test_file = (data.split_dir / "test.tsv").read_text(encoding="utf-8")
    assert "".join("".join(f"{tag}\t{token}\n" for token, tag in zip(s.tokens, s.tags, strict=True)) + "\n"
                   for s in data.test) == test_file
    if export.endswith(".json"):  # the report links each test sentence to its task
        assert all(s.source.startswith("task ") for s in data.test)


def test_an_export_without_annotated_sentences_stops_the_round_and_writes_nothing(tmp_path):
    export = tmp_path / "export.json"
    export.write_text(json.dumps([{"id": 1, "data": {"text": "thai food"}, "annotations": []}]), encoding="utf-8")
    with pytest.raises(TrainingError) as info:
        split_round_export(Settings(test_file=None), salt="s", export_file=export, config=restaurant_config(),
                           split_dir=tmp_path / "splits")
    assert str(info.value) == (f"{export}: no annotated sentences in the export (1 tasks read) (annotate some tasks "
                               "in Label Studio, then run again)")
    assert not (tmp_path / "splits").exists()
