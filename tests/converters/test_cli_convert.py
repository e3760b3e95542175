"""``nerloop convert export`` and ``nerloop convert tasks``: exact printed text, files written, one-line errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from converters.corpus import read_tsv
from nerloop.cli import app
from tests.converters.converter_helpers import FIXTURES, MIT, annotation, region, task, write_json

runner = CliRunner()


def test_convert_export_writes_splits_and_prints_the_report(tmp_path):
    out = tmp_path / "splits"
    result = runner.invoke(app, ["convert", "export", str(FIXTURES / "studio_export.conll"), "--out", str(out),
                                 "--test-file", str(MIT / "test.bio"), "--salt", "s1", "--ratios", "0.5,0.5,0"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:6] == [
        f"{FIXTURES / 'studio_export.conll'} (conll)",
        "  tasks read: 8  (without annotations: 0)",
        "  annotations used: 7  skipped: duplicate text 1",
        "  sentences: 7",
        "  problems: 1 (duplicate_text 1)",
        "    [duplicate_text] line 32: 'best sushi place in town' repeats the block at line 26 -> kept the first "
        "occurrence (in CONLL2003: the newest annotation); this one skipped"]
    assert result.stdout.splitlines()[-1] == (f"wrote {out / 'train.tsv'}, {out / 'validation.tsv'}, "
                                              f"{out / 'test.tsv'}, {out / 'conversion.json'}")
    assert len(read_tsv(out / "train.tsv")) + len(read_tsv(out / "validation.tsv")) == 7
    assert json.loads((out / "conversion.json").read_text(encoding="utf-8"))["format"] == "conll"


def test_convert_export_without_test_file_splits_three_ways(tmp_path):
    out = tmp_path / "splits"
    result = runner.invoke(app, ["convert", "export", str(FIXTURES / "studio_export.min.json"), "--out", str(out),
                                 "--policy", "oldest"])
    assert result.exit_code == 0, result.output
    assert "  annotations used: 7  skipped: not chosen (oldest) 1" in result.stdout.splitlines()
    # 7 texts at 80/10/10: every split that was asked for gets a sentence, and each file loads with the same reader.
    assert [len(read_tsv(out / f"{name}.tsv")) for name in ("train", "validation", "test")] == [5, 1, 1]
    assert "  problems: 3 (off_boundary 1, split_filled 2)" in result.stdout.splitlines()
    assert json.loads((out / "conversion.json").read_text(encoding="utf-8"))["split"]["salt"] == "nerloop"


def _export(path, ids):
    tasks = [task(i, f"dish{i} near me", annotation(i, region(0, len(f"dish{i}"), f"dish{i}", "Dish"))) for i in ids]
    return write_json(path, tasks)


def _convert(export, out, *options):
    result = runner.invoke(app, ["convert", "export", str(export), "--out", str(out), *options])
    assert result.exit_code == 0, result.output
    return {name: {s.tokens for s in read_tsv(out / f"{name}.tsv")} for name in ("train", "validation", "test")}


def test_a_bigger_export_keeps_every_earlier_test_sentence_in_test(tmp_path):
    """Convert 200 tasks, then 400 tasks that contain them (in another order): no earlier test or validation
    sentence is trained on, and every earlier sentence keeps its split."""
    first = _convert(_export(tmp_path / "a.json", range(200)), tmp_path / "a")
    second = _convert(_export(tmp_path / "b.json", range(399, -1, -1)), tmp_path / "b")
    assert [len(first[name]) for name in ("train", "validation", "test")] == [165, 19, 16]
    assert first["test"] <= second["test"]
    assert first["validation"] <= second["validation"]
    assert first["train"] <= second["train"]
    assert not first["test"] & (second["train"] | second["validation"])


def test_the_salt_decides_the_split(tmp_path):
    export = _export(tmp_path / "a.json", range(200))
    default = _convert(export, tmp_path / "a")
    salted = _convert(export, tmp_path / "b", "--salt", "project-7")
    assert salted == _convert(export, tmp_path / "c", "--salt", "project-7")
    assert salted["test"] != default["test"]
    data = json.loads((tmp_path / "b" / "conversion.json").read_text(encoding="utf-8"))
    assert data["split"] == {"rule": "sha256 of the salt and the tokens (converters/split.py)", "salt": "project-7",
                             "ratios": [0.8, 0.1, 0.1]}


def test_a_split_with_ratio_zero_gets_no_file(tmp_path):
    out = tmp_path / "splits"
    result = runner.invoke(app, ["convert", "export", str(FIXTURES / "studio_export.json"), "--out", str(out),
                                 "--ratios", "0.9,0.1,0"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["conversion.json", "train.tsv", "validation.tsv"]
    assert result.stdout.splitlines()[-1] == f"wrote {out / 'train.tsv'}, {out / 'validation.tsv'}, " \
                                             f"{out / 'conversion.json'}"


def test_convert_export_error_is_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    result = runner.invoke(app, ["convert", "export", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.stderr == (f"error: {bad}:1: not valid JSON (Expecting property name enclosed in double quotes, "
                             "column 3) (export the project again; do not edit the file by hand)\n")


def test_convert_export_bad_ratios(tmp_path):
    result = runner.invoke(app, ["convert", "export", str(FIXTURES / "studio_export.json"), "--out",
                                 str(tmp_path / "o"), "--ratios", "0.8,x,0.1"])
    assert result.exit_code == 1
    assert result.stderr == ("error: --ratios '0.8,x,0.1' is not three comma-separated numbers "
                             "(pass e.g. --ratios 0.8,0.1,0.1)\n")


def test_convert_tasks_as_predictions(tmp_path):
    out = tmp_path / "tasks.json"
    result = runner.invoke(app, ["convert", "tasks", str(MIT / "test.bio"), "--out", str(out), "--as", "predictions",
                                 "--model-version", "round-0002", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote 2 tasks (predictions) to {out}; 0 retokenized\n"
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert tasks[0]["data"] == {"text": "a four star restaurant with a bar"}
    assert [(p["model_version"], p["score"]) for p in tasks[0]["predictions"]] == [("round-0002", 1.0)]
    assert [r["value"] for r in tasks[0]["predictions"][0]["result"]] == [
        {"start": 2, "end": 11, "text": "four star", "labels": ["Rating"]},
        {"start": 23, "end": 29, "text": "with a", "labels": ["Location"]},
        {"start": 30, "end": 33, "text": "bar", "labels": ["Amenity"]}]


def test_convert_tasks_reports_retokenized_sentences(tmp_path):
    bio = tmp_path / "c.bio"
    bio.write_text("O\ti\nO\twanna\nB-Dish\ttacos\n", encoding="utf-8")
    result = runner.invoke(app, ["convert", "tasks", str(bio), "--out", str(tmp_path / "t.json")])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"[retokenized] {bio}:1: token 1 ('wanna', 'tacos') becomes ('wan', 'na', 'tacos') in Label Studio -> task "
        "written anyway; Label Studio will see different tokens for this text",
        f"wrote 1 tasks (annotations) to {tmp_path / 't.json'}; 1 retokenized"]
