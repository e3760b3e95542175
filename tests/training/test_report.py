from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from lxml import html as lxml_html

from converters.corpus import Sentence
from training.metrics import score_predictions
from training.report import build_report, compute_delta, write_report

GOLD = [Sentence(("thai", "food", "in", "boston"), ("B-Cuisine", "I-Cuisine", "O", "B-Location"), "t.tsv:1"),
        Sentence(("any", "sushi"), ("O", "B-Dish"), "t.tsv:6")]
LABELS = ["Cuisine", "Dish", "Location"]


@pytest.fixture(scope="module")
def report() -> dict:
    previous = score_predictions(GOLD, [("O", "O", "O", "B-Location"), ("O", "O")], LABELS)
    current = score_predictions(GOLD, [("B-Cuisine", "I-Cuisine", "O", "B-Location"), ("B-Dish", "O")], LABELS)
    import dataclasses

    return build_report("round-0002", current, evaluated_on="test.tsv", previous_name="round-0001",
                        previous=dataclasses.asdict(previous),
                        gate={"promoted": True, "reason": "micro F1 went up"})


def test_delta_per_entity_and_micro(report: dict) -> None:
    # previous: 1 correct of 3 gold, 1 predicted → P 1, R 1/3, F1 0.5; now 2 correct of 3, 3 predicted → F1 2/3
    assert report["previous"] == {"round": "round-0001", "micro_f1": 0.5,
                                  "f1_by_label": {"Cuisine": 0.0, "Dish": 0.0, "Location": 1.0}}
    assert report["delta"]["micro_f1"] == pytest.approx(2 / 3 - 0.5)
    assert report["delta"]["by_label"] == {"Cuisine": 1.0, "Dish": 0.0, "Location": 0.0}
    assert compute_delta(score_predictions(GOLD, [s.tags for s in GOLD], LABELS), None) is None


def test_report_files_and_sections(tmp_path: Path, report: dict) -> None:
    paths = write_report(tmp_path, report)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json", "report.md"]
    assert json.loads(paths["json"].read_text(encoding="utf-8")) == report
    md = paths["md"].read_text(encoding="utf-8")
    for section in ("# Report for round-0002", "**Promoted**: micro F1 went up", "## Scores", "## Delta",
                    "Against round-0001 (micro F1 50.0): +16.7 points.", "## Confusion matrix", "## Errors by sentence",
                    "| Cuisine | 100.0 | 100.0 | 100.0 | 1 | +100.0 |",
                    "### t.tsv:6\n\n- gold: any [sushi]{Dish}\n- predicted: [any]{Dish} sushi\n\n"
                    "1. spurious: Dish “any”\n1. missed: Dish “sushi”\n"):
        assert section in md, section
    page = paths["html"].read_text(encoding="utf-8")
    for section in ("<h1>Report for round-0002</h1>", "<h2>Per-entity F1</h2>", "<h2>Confusion matrix</h2>",
                    "<h2 id=\"errors\">Errors by sentence</h2>", "<li>missed: Dish “sushi”</li>"):
        assert section in page, section
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 2 and all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "http://" not in page and "https://" not in page  # self-contained


def test_only_the_asked_formats(tmp_path: Path, report: dict) -> None:
    write_report(tmp_path, report, ["md"])
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_the_report_says_how_many_training_texts_were_windowed(tmp_path: Path) -> None:
    evaluation = score_predictions(GOLD, [s.tags for s in GOLD], LABELS)
    windows = {"texts": 120, "windowed": 7, "windows": 141, "max_length": 128, "stride": 32}
    report = build_report("round-0003", evaluation, evaluated_on="test.tsv", training={"windows": windows})
    paths = write_report(tmp_path, report, formats=("md", "html"))
    sentence = ("7 of 120 training texts were longer than the window (128 sub-tokens) and were cut into overlapping "
                "windows (stride 32; 141 model inputs in all); nothing was truncated.")
    assert sentence in paths["md"].read_text(encoding="utf-8")
    assert sentence in paths["html"].read_text(encoding="utf-8")


def test_the_report_weighs_what_the_last_rounds_annotations_bought() -> None:
    from training.report_sections import history_html, history_markdown, labelling_gain

    history = [{"round": "round-0001", "micro_f1": 0.50, "sentences": 200, "promoted": True},
               {"round": "round-0002", "micro_f1": 0.62, "sentences": 400, "promoted": True},
               {"round": "round-0003", "micro_f1": 0.66, "sentences": 600, "promoted": True},
               {"round": "round-0004", "micro_f1": 0.67, "sentences": 800, "promoted": False}]
    assert labelling_gain(history) == {"from": "round-0002", "to": "round-0004", "added": 400, "f1_change": 0.05,
                                       "points_per_100": 1.25}
    assert labelling_gain(history[:1]) is None
    assert labelling_gain([{**h, "sentences": 300} for h in history]) is None  # retrained on the same data
    lines = history_markdown(history)
    assert "| round-0002 |  | 400 | 62.0 | yes |" in lines
    assert lines[-2] == ("Does labelling still pay? From round-0002 to round-0004, 400 more annotated sentences "
                         "moved micro F1 by +5.0 points: +1.25 points per 100 annotations.")
    page = lxml_html.fromstring(str(history_html(history)))
    assert page.xpath('//svg[@class="gain"]/circle[@class="point"]/@cx') == ["44.0", "237.3", "430.7", "624.0"]
    assert page.xpath('//p[@class="gain"]/text()') == [lines[-2].removeprefix("Does labelling still pay? ")]
