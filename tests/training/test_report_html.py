"""The HTML report's structure, read back with lxml: one block per sentence with errors, the gold and predicted
spans as marks with their labels, the Label Studio link of a task sentence, the F1-over-rounds chart, the quality
sections, escaping of user text and no machine paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html as lxml_html

from converters.corpus import Sentence
from training.metrics import score_predictions
from training.report import build_report, render_markdown, write_report
from training.report_html import render_html

LABELS = ["Cuisine", "Dish", "Location"]
LINK = "http://studio.example:8080/projects/3/data?task={task}"
AGREEMENT = {"tasks_compared": 2,
             "pairs": [{"annotators": ["ann@x.org", "bob@x.org"], "tasks": 2, "span_f1": 0.5, "kappa": 0.4,
                        "tokens": 9, "spans": [2, 2], "matched": 1, "by_label": {}}],
             "by_label": {"Dish": {"span_f1": 0.5, "spans": [2, 2], "matched": 1}},
             "disagreements": [{"task": 11, "annotators": ["ann@x.org", "bob@x.org"],
                                "only_a": [{"start": 0, "end": 5, "label": "Dish", "text": "pizza"}], "only_b": [],
                                "link": "http://studio.example:8080/projects/3/data?task=11"}]}


def audit_result(export: Path) -> dict:
    return {"created": "2026-12-01T10:00:00+00:00", "sentences": 40, "folds": 2, "epochs": 1.0, "seconds": 3.0,
            "base_model": "tiny", "export": str(export),
            "issues": [{"task": 12, "score": 0.0123, "annotation": 5, "annotator": "ann@x.org",
                        "text": "cheap <b>tacos</b> here",
                        "words": [], "annotated_spans": [{"start": 0, "end": 5, "label": "Dish", "text": "cheap"}],
                        "suggested_spans": [{"start": 9, "end": 14, "label": "Dish", "text": "tacos"}],
                        "link": "http://studio.example:8080/projects/3/data?task=12"}]}


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return tmp_path / "models" / "project-3"


@pytest.fixture()
def report(project: Path) -> dict:
    gold = [Sentence(("thai", "food", "in", "boston"), ("B-Cuisine", "I-Cuisine", "O", "B-Location"), "task 7"),
            Sentence(("any", "sushi"), ("O", "B-Dish"), f"{project.parent.parent}/test.tsv:6"),
            Sentence(("<script>alert(1)</script>", "pizza"), ("O", "B-Dish"), f"{project}/splits/test.tsv:9"),
            Sentence(("good", "pasta"), ("O", "B-Dish"), "task 8")]  # right: no block
    predicted = [("B-Dish", "O", "O", "B-Cuisine"), ("B-Dish", "O"), ("O", "O"), ("O", "B-Dish")]
    evaluation = score_predictions(gold, predicted, LABELS)
    history = [{"round": "round-0001", "micro_f1": 0.4, "created": "2026-11-30T09:00:00+00:00", "promoted": True},
               {"round": "round-0002", "micro_f1": 0.35, "created": "2026-11-30T12:00:00+00:00", "promoted": False}]
    return build_report("round-0003", evaluation, evaluated_on=f"{project.parent.parent}/test.tsv",
                        gate={"promoted": True, "reason": "first round"}, project_dir=project, history=history,
                        task_link=LINK,
                        sections={"agreement": AGREEMENT, "label_issues": audit_result(project / "export.json")})


def marks(line: lxml_html.HtmlElement) -> list[tuple[str, str]]:
    """(label, text) of each mark in a line; the text without the tag."""
    return [(m.get("data-label"), (m.text or "").strip()) for m in line.xpath(".//mark")]


def test_one_block_per_sentence_with_errors_worst_first(report: dict, tmp_path: Path) -> None:
    page = lxml_html.fromstring(write_report(tmp_path / "out", report)["html"].read_text(encoding="utf-8"))
    blocks = page.xpath('//div[@class="sentence"]')
    assert [b.xpath('string(p[@class="src"])') for b in blocks] == [
        "task 7 (open in Label Studio)", "test.tsv:6", "splits/test.tsv:9"]
    first = blocks[0]
    assert first.xpath('p[@class="src"]/a/@href') == ["http://studio.example:8080/projects/3/data?task=7"]
    gold_line, predicted_line = first.xpath('p[contains(@class, "gold")]')[0], first.xpath(
        'p[contains(@class, "predicted")]')[0]
    assert marks(gold_line) == [("Cuisine", "thai food"), ("Location", "boston")]
    assert marks(predicted_line) == [("Dish", "thai"), ("Cuisine", "boston")]
    assert [m.xpath('string(span[@class="tag"])') for m in gold_line.xpath(".//mark")] == ["Cuisine", "Location"]
    assert [m.get("class") for m in predicted_line.xpath(".//mark")] == ["ent off", "ent off"]
    assert first.xpath('ul[@class="errors"]/li/text()') == [
        "wrong span: Cuisine “thai food” predicted as Dish “thai”",
        "wrong type: Location “boston” predicted as Cuisine"]
    assert blocks[1].xpath('ul[@class="errors"]/li/text()') == ["spurious: Dish “any”", "missed: Dish “sushi”"]
    assert not blocks[1].xpath(".//a")  # a sentence from a file has no task to link to
    colours = {m.get("data-label"): m.get("style") for m in page.xpath('//div[@class="sentence"]//mark')}
    assert len(set(colours.values())) == len(colours) == 3  # one colour per label, the same everywhere


def test_user_text_is_escaped_and_no_machine_path_is_shown(report: dict, tmp_path: Path) -> None:
    text = write_report(tmp_path / "out", report)["html"].read_text(encoding="utf-8")
    assert "<script" not in text and "<b>tacos" not in text
    page = lxml_html.fromstring(text)
    third = page.xpath('//div[@class="sentence"]')[2]
    assert third.xpath('string(p[contains(@class, "gold")])') == "gold<script>alert(1)</script> pizzaDish"
    assert str(tmp_path) not in text
    assert "Evaluated on test.tsv (4 sentences)" in page.text_content()
    assert report["machine"]["evaluated_on"] == f"{tmp_path}/test.tsv"  # kept for machines only
    assert str(tmp_path) not in render_markdown(report)
    assert "http://" not in text.replace("http://studio.example:8080/", "")  # nothing loaded from elsewhere


def test_the_history_chart_has_one_point_per_round(report: dict, tmp_path: Path) -> None:
    page = lxml_html.fromstring(write_report(tmp_path / "out", report)["html"].read_text(encoding="utf-8"))
    points = page.xpath('//svg[@class="history"]/circle[@class="point"]')
    assert [p.get("data-round") for p in points] == ["round-0001", "round-0002", "round-0003"]
    assert [p.get("fill") for p in points] == ["#4a7ebb", "#fff", "#4a7ebb"]  # filled: promoted
    assert points[2].xpath("string(title)").startswith("round-0003: micro F1 22.2 (promoted, ")


def test_quality_sections(report: dict, tmp_path: Path) -> None:
    page = lxml_html.fromstring(write_report(tmp_path / "out", report)["html"].read_text(encoding="utf-8"))
    assert page.xpath("//h2/text()")[-4:] == ["F1 over the project's rounds", "Annotator agreement",
                                              "Probable label errors", "Errors by sentence"]
    assert page.xpath('//ul[@class="disagreements"]/li')[0].text_content() == (
        "task 11: ann@x.org only: Dish “pizza”; bob@x.org only: nothing")
    assert page.xpath('//p[@class="jump"]/a/@href') == ["#errors", "#history", "#agreement", "#label-issues"]
    assert all(page.xpath(f'//h2[@id="{href[1:]}"]') for href in page.xpath('//p[@class="jump"]/a/@href'))
    issue = page.xpath('//div[@class="issue"]')[0]
    assert issue.xpath('p[@class="src"]/a/@href') == ["http://studio.example:8080/projects/3/data?task=12"]
    assert [marks(line) for line in issue.xpath('p[@class="line"]')] == [[("Dish", "cheap")], [("Dish", "tacos")]]
    assert "(audit of 2026-12-01T10:00, 2 folds, 1 epochs; export export.json)" in page.text_content()


def test_markdown_groups_by_sentence_with_links(report: dict) -> None:
    md = render_markdown(report)
    assert ("### [task 7](http://studio.example:8080/projects/3/data?task=7)\n\n"
            "- gold: [thai food]{Cuisine} in [boston]{Location}\n"
            "- predicted: [thai]{Dish} food in [boston]{Cuisine}\n\n"
            "1. wrong span: Cuisine “thai food” predicted as Dish “thai”\n"
            "1. wrong type: Location “boston” predicted as Cuisine\n") in md
    assert "- gold: &lt;script&gt;alert(1)&lt;/script&gt; [pizza]{Dish}" in md
    assert "| round-0003 |" in md and "## Annotator agreement" in md and "## Probable label errors" in md


def test_a_report_written_before_sentence_blocks_still_renders(report: dict) -> None:
    old = {**report, "evaluation": {k: v for k, v in report["evaluation"].items()
                                    if k not in ("error_sentences", "sentences_with_errors")}}
    page = lxml_html.fromstring(render_html(old))
    assert len(page.xpath('//div[@class="sentence"]')) == 3
    assert page.xpath('//div[@class="sentence"]')[1].xpath('ul/li/text()') == ["spurious: Dish: any",
                                                                                "missed: Dish: sushi"]



def test_a_large_project_keeps_only_the_shown_disagreements(project: Path) -> None:
    many = {**AGREEMENT, "disagreements": AGREEMENT["disagreements"] * 30}
    evaluation = score_predictions([Sentence(("pizza",), ("B-Dish",), "task 1")], [("O",)], LABELS)
    report = build_report("round-0001", evaluation, evaluated_on="test.tsv", sections={"agreement": many,
                                                                                       "label_issues": None})
    assert list(report["sections"]) == ["agreement"]
    assert len(report["sections"]["agreement"]["disagreements"]) == 20
    page = lxml_html.fromstring(render_html(report))
    assert len(page.xpath('//ul[@class="disagreements"]/li')) == 20
    assert "… and 10 more disagreement(s)." in page.text_content()
