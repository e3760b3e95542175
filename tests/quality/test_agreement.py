"""Inter-annotator agreement on hand-made exports: exact values, computed by hand in the comments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from converters.export import read_export_tasks
from converters.export_models import ExportAnnotation
from labeling_config import restaurant_config
from nerloop.cli import app
from quality.agreement import cohen_kappa, measure_agreement
from quality.agreement_summary import agreement_section, agreement_summary

TEXT = "cheap pizza near me"  # tokens: cheap 0-5, pizza 6-11, near 12-16, me 17-19


def span(start: int, end: int, label: str, text: str = TEXT) -> dict:
    return {"from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]}}


def annotation(ident: int, who: object, result: list[dict], *, cancelled: bool = False,
               created: str = "2026-11-30T10:00:00Z") -> dict:
    return {"id": ident, "completed_by": who, "result": result, "was_cancelled": cancelled, "created_at": created}


def write(tmp_path: Path, tasks: list[dict]) -> Path:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return path


def summary_of(path: Path) -> dict:
    config = restaurant_config()
    return agreement_summary(measure_agreement(read_export_tasks(path, config)[1], config),
                             studio_url="http://ls:8080", project_id=3)


def known_disagreement() -> list[dict]:
    a = [span(0, 5, "Price"), span(6, 11, "Dish"), span(12, 19, "Location")]
    b = [span(0, 5, "Price"), span(6, 11, "Cuisine"), span(17, 19, "Location")]  # another type; a span cut short
    return [
        {"id": 10, "data": {"text": TEXT}, "annotations": [annotation(1, 1, a), annotation(2, 2, b),
                                                           annotation(3, 3, a, cancelled=True)]},
        {"id": 11, "data": {"text": "hi there"}, "annotations": [annotation(4, 2, []), annotation(5, 1, [])]},
        {"id": 12, "data": {"text": TEXT}, "annotations": [annotation(6, 1, a)]},  # one annotator: not compared
    ]


def test_identical_annotators_agree_fully(tmp_path: Path) -> None:
    result = [span(0, 5, "Price"), span(6, 11, "Dish")]
    tasks = [{"id": i, "data": {"text": TEXT},
              "annotations": [annotation(3 * i, 1, result), annotation(3 * i + 1, 2, result),
                              annotation(3 * i + 2, {"id": 5, "email": "c@example.com"}, result)]}
             for i in (1, 2)]
    summary = summary_of(write(tmp_path, tasks))
    assert summary["tasks_compared"] == 2
    assert [(p["annotators"], p["tasks"], p["span_f1"], p["kappa"]) for p in summary["pairs"]] == [
        ([1, 2], 2, 1.0, 1.0), ([1, "c@example.com"], 2, 1.0, 1.0), ([2, "c@example.com"], 2, 1.0, 1.0)]
    assert summary["pairs"][0]["by_label"] == {"Dish": {"span_f1": 1.0, "spans": [2, 2], "matched": 2},
                                               "Price": {"span_f1": 1.0, "spans": [2, 2], "matched": 2}}
    assert summary["disagreements"] == []


def test_a_known_disagreement_gives_the_hand_computed_values(tmp_path: Path) -> None:
    summary = summary_of(write(tmp_path, known_disagreement()))

    assert summary["tasks_compared"] == 2  # task 12 has one annotator; annotator 3's only annotation is cancelled
    [pair] = summary["pairs"]
    assert pair["annotators"] == [1, 2] and pair["tasks"] == 2
    # Spans: 3 and 3, one exact match (Price 0-5): F1 = 2 * 1 / 6.
    assert pair["span_f1"] == round(1 / 3, 4) and pair["spans"] == [3, 3] and pair["matched"] == 1
    # Tokens (6): a = Price Dish Location Location O O, b = Price Cuisine O Location O O. Observed 4/6;
    # expected (Price 1*1 + Location 2*1 + O 2*3) / 36 = 1/4; kappa = (2/3 - 1/4) / (3/4) = 5/9.
    assert pair["tokens"] == 6 and pair["kappa"] == round(5 / 9, 4)
    assert pair["by_label"] == {"Cuisine": {"span_f1": 0.0, "spans": [0, 1], "matched": 0},
                                "Dish": {"span_f1": 0.0, "spans": [1, 0], "matched": 0},
                                "Location": {"span_f1": 0.0, "spans": [1, 1], "matched": 0},
                                "Price": {"span_f1": 1.0, "spans": [1, 1], "matched": 1}}
    assert summary["disagreements"] == [{
        "task": 10, "annotators": [1, 2], "link": "http://ls:8080/projects/3/data?task=10",
        "only_a": [{"start": 6, "end": 11, "label": "Dish", "text": "pizza"},
                   {"start": 12, "end": 19, "label": "Location", "text": "near me"}],
        "only_b": [{"start": 6, "end": 11, "label": "Cuisine", "text": "pizza"},
                   {"start": 17, "end": 19, "label": "Location", "text": "me"}]}]


def test_json_min_gives_the_same_agreement(tmp_path: Path) -> None:
    rows = []
    for task in known_disagreement():
        for a in task["annotations"]:
            if not a["was_cancelled"]:  # Label Studio's JSON_MIN leaves cancelled annotations out
                rows.append({"id": task["id"], "text": task["data"]["text"], "annotator": a["completed_by"],
                             "annotation_id": a["id"], "created_at": a["created_at"],
                             "label": [r["value"] for r in a["result"]]})
    path = tmp_path / "export.min.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    assert summary_of(path) == summary_of(write(tmp_path, known_disagreement()))


def test_an_annotator_who_annotated_twice_counts_with_the_newest() -> None:
    config = restaurant_config()
    old = annotation(1, 1, [span(0, 5, "Rating")], created="2026-11-30T09:00:00Z")
    new = annotation(2, 1, [span(0, 5, "Price")], created="2026-11-30T11:00:00Z")
    other = annotation(3, 2, [span(0, 5, "Price")])
    report = measure_agreement([(1, TEXT, [ExportAnnotation.model_validate(a) for a in (old, new, other)])], config)
    assert [(p.annotators, p.span_f1) for p in report.pairs] == [((1, 2), 1.0)]


def test_cohen_kappa_edge_cases() -> None:
    assert cohen_kappa(["O", "O"], ["O", "O"]) == 1.0  # one label throughout: full agreement
    assert cohen_kappa(["A", "O"], ["O", "A"]) == -1.0
    with pytest.raises(ValueError):
        cohen_kappa(["O"], [])


def test_a_round_gets_an_agreement_section_only_with_shared_tasks(tmp_path: Path) -> None:
    config = restaurant_config()
    assert agreement_section(write(tmp_path, known_disagreement()), config)["pairs"][0]["span_f1"] == 0.3333
    single = tmp_path / "single"
    single.mkdir()
    assert agreement_section(write(single, known_disagreement()[2:]), config) is None


def test_cli_json_shape_and_table(tmp_path: Path) -> None:
    path = write(tmp_path, known_disagreement())
    runner = CliRunner()
    result = runner.invoke(app, ["agreement", "--export", str(path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["pairs"][0]["annotators"] == [1, 2]
    assert {"annotators", "tasks", "span_f1", "kappa", "by_label"} <= set(summary["pairs"][0])
    assert summary["disagreements"][0]["link"] is None  # an export file: no Label Studio to link to

    table = runner.invoke(app, ["agreement", "--export", str(path)])
    assert table.exit_code == 0, table.output
    assert "1 / 2" in table.output and "0.333" in table.output and "0.556" in table.output
    assert "task 10: 1 only Dish 'pizza', Location 'near me'; 2 only Cuisine 'pizza', Location 'me'" in table.output


def test_cli_needs_one_source() -> None:
    result = CliRunner().invoke(app, ["agreement"])
    assert result.exit_code == 1
    assert result.output == "error: this needs exactly one source (pass --project ID or --export FILE)\n"
