"""Every reported problem kind: the report entry names the task, annotation, field and the rule applied."""

from __future__ import annotations

import pytest

from converters.conversion_report import RULES, Problem, render_report
from converters.corpus import Sentence
from converters.export import read_export
from converters.tasks import tasks_from_sentences
from tests.converters.converter_helpers import annotation, region, split_sentences, task, write_json

TEXT = "cheap pizzas downtown"  # tokens: cheap[0:5] pizzas[6:12] downtown[13:21]


def convert(tmp_path, config, *results, **kwargs):
    path = write_json(tmp_path / "export.json", [task(7, TEXT, annotation(70, *results))])
    sentences, report = read_export(path, config, **kwargs)
    return sentences, report


def only(report) -> tuple:
    assert len(report.problems) == 1, report.problems
    p = report.problems[0]
    return p.kind, p.task, p.annotation, p.field, p.what, p.rule


def test_off_boundary_span_is_snapped(tmp_path, config):
    sentences, report = convert(tmp_path, config, region(7, 10, "izz", "Dish"))
    assert sentences[0].tags == ("O", "B-Dish", "O")
    assert only(report) == ("off_boundary", 7, 70, "result[0].value",
                            "'izz' [7:10] is not on token boundaries; tokens ['pizzas']", RULES["off_boundary"])


def test_whitespace_around_a_span_is_not_a_problem(tmp_path, config):
    sentences, report = convert(tmp_path, config, region(5, 13, " pizzas ", "Dish"))
    assert sentences[0].tags == ("O", "B-Dish", "O")
    assert report.problems == ()


def test_overlapping_span_keeps_the_tokens_after_the_earlier_one(tmp_path, config):
    sentences, report = convert(tmp_path, config, region(6, 21, "pizzas downtown", "Location"),
                                region(0, 12, "cheap pizzas", "Price"))
    assert sentences[0].tags == ("B-Price", "I-Price", "B-Location")
    assert only(report) == ("overlap", 7, 70, "result[0].value",
                            "Location on tokens 1..2 overlaps an earlier span; kept tokens 2..2", RULES["overlap"])


def test_span_inside_an_earlier_span_is_dropped(tmp_path, config):
    sentences, report = convert(tmp_path, config, region(0, 21, TEXT, "Dish"), region(6, 12, "pizzas", "Cuisine"))
    assert sentences[0].tags == ("B-Dish", "I-Dish", "I-Dish")
    assert only(report) == ("overlap_dropped", 7, 70, "result[1].value",
                            "Cuisine on tokens 1..1 lies inside an earlier span", RULES["overlap_dropped"])


def test_label_not_in_config_is_skipped(tmp_path, config):
    sentences, report = convert(tmp_path, config, region(0, 5, "cheap", "Cheapness"))
    assert sentences[0].tags == ("O", "O", "O")
    kind, task_id, ann, field, what, rule = only(report)
    assert (kind, task_id, ann, field, rule) == ("unknown_label", 7, 70, "result[0].value.labels", "span skipped")
    assert what == ("label 'Cheapness' is not in the config (known: Amenity, Cuisine, Dish, Hours, Location, Price, "
                    "Rating, Restaurant_Name)")


def test_first_of_several_labels_is_used(tmp_path, config):
    sentences, report = convert(tmp_path, config, region(0, 5, "cheap", "Price", "Rating"))
    assert sentences[0].tags == ("B-Price", "O", "O")
    assert only(report) == ("multiple_labels", 7, 70, "result[0].value.labels", "2 labels ['Price', 'Rating']",
                            RULES["multiple_labels"])


def test_offsets_win_over_value_text(tmp_path, config):
    sentences, report = convert(tmp_path, config, region(13, 21, "uptown", "Location"))
    assert sentences[0].tags == ("O", "O", "B-Location")
    assert only(report) == ("text_mismatch", 7, 70, "result[0].value.text",
                            "value.text 'uptown' but text[13:21] is 'downtown'", "offsets win; value.text ignored")


@pytest.mark.parametrize(("start", "end", "shown"), [(13, 99, "start=13 end=99"), (-1, 3, "start=-1 end=3"),
                                                      (5, 5, "start=5 end=5"), ("0", 5, "start='0' end=5")])
def test_out_of_range_span_is_skipped(tmp_path, config, start, end, shown):
    sentences, report = convert(tmp_path, config, region(start, end, "x", "Dish"))
    assert sentences[0].tags == ("O", "O", "O")
    assert only(report) == ("out_of_range", 7, 70, "result[0].value.start",
                            f"{shown} is not within the text (0..21, start < end)", "span skipped")


def test_whitespace_only_span_is_skipped(tmp_path, config):
    sentences, report = convert(tmp_path, config, region(5, 6, " ", "Dish"))
    assert sentences[0].tags == ("O", "O", "O")
    assert only(report) == ("no_tokens", 7, 70, "result[0].value", "text[5:6] = ' ' touches no token",
                            RULES["no_tokens"])


def test_result_of_another_control_is_skipped(tmp_path, config):
    sentences, report = convert(tmp_path, config, region(0, 5, "cheap", "Price", from_name="sentiment"))
    assert sentences[0].tags == ("O", "O", "O")
    assert only(report) == ("other_control", 7, 70, "result[0]", "from_name='sentiment' to_name='text' "
                            "type='labels'; the config's pair is 'label' -> 'text'", RULES["other_control"])


def test_json_min_region_of_another_control_is_skipped(tmp_path, config):
    path = write_json(tmp_path / "e.json", [{
        "id": 4, "text": TEXT, "annotation_id": 40, "annotator": 1, "updated_at": "2026-01-01T00:00:00Z",
        "label": [{"start": 0, "end": 5, "text": "cheap", "labels": ["Price"]}],
        "ner2": [{"start": 13, "end": 21, "text": "downtown", "labels": ["Location"]}]}])
    sentences, report = read_export(path, config)
    assert report.format == "json-min"
    assert sentences[0].tags == ("B-Price", "O", "O")
    assert only(report) == ("other_control", 4, 40, "result[1]", "from_name='ner2' to_name='' type='labels'; the "
                            "config's pair is 'label' -> 'text'", RULES["other_control"])


def test_task_with_empty_text_is_skipped(tmp_path, config):
    path = write_json(tmp_path / "e.json", [task(3, "  ", annotation(30)), task(4, TEXT, annotation(40))])
    sentences, report = read_export(path, config)
    assert [s.source for s in sentences] == ["task 4"]
    assert report.annotations_skipped == {"empty text": 1}
    assert only(report) == ("empty_text", 3, 30, "data.text", "the text '  ' has no tokens", RULES["empty_text"])


def test_same_text_in_two_tasks_is_one_sentence(tmp_path, config):
    path = write_json(tmp_path / "export.json", [
        task(1, TEXT, annotation(10, region(0, 5, "cheap", "Price"))),
        task(2, TEXT, annotation(20, region(13, 21, "downtown", "Location")))])
    sentences, report = read_export(path, config)
    assert [(s.source, s.tags) for s in sentences] == [("task 1", ("B-Price", "O", "O"))]
    assert report.annotations_skipped == {"duplicate text": 1}
    assert only(report) == ("duplicate_text", 2, 20, "data.text", f"{TEXT!r} is the text of task 1",
                            RULES["duplicate_text"])


def test_conll_unknown_label_and_stray_inside(tmp_path, config):
    path = tmp_path / "export.conll"
    path.write_text("-DOCSTART- -X- O\ncheap -X- _ B-Cheapness\npizzas -X- _ I-Cheapness\n"
                    "downtown -X- _ I-Location\n", encoding="utf-8")
    sentences, report = read_export(path, config)
    assert sentences[0].tags == ("O", "O", "B-Location")
    assert [(p.kind, p.task, p.field, p.what, p.rule) for p in report.problems] == [
        ("unknown_label", None, "line 2", "tag 'B-Cheapness': label 'Cheapness' is not in the config (known: "
         "Amenity, Cuisine, Dish, Hours, Location, Price, Rating, Restaurant_Name)", "entity tagged O"),
        ("stray_inside", None, "line 4", "'I-Location' follows 'I-Cheapness'", RULES["stray_inside"])]


def test_fixed_test_set_text_is_left_out_of_train(config):
    a = Sentence(("thai", "food"), ("B-Cuisine", "O"), "task 1")
    b = Sentence(("cheap", "food"), ("B-Price", "O"), "task 2")
    c = Sentence(("cheap", "thai"), ("B-Price", "B-Cuisine"), "task 3")
    splits = split_sentences([a, b, c], test_sentences=[Sentence(("thai", "food"), ("B-Cuisine", "O"), "test.bio:1")])
    assert sorted(splits.train + splits.validation, key=lambda s: s.source) == [b, c]
    assert splits.problems[0] == Problem("in_test_set", "'thai food' is in the fixed test set", field="task 1")
    assert [p.kind for p in splits.problems[1:]] == ["split_filled"]  # two texts left: the hash filled validation
    assert splits.problems[0].rule == "left out of train/validation: the fixed test set has this text"


def test_retokenized_sentence_is_reported(config):
    problems: list[Problem] = []
    sentence = Sentence(("open", "24/7", "joe's"), ("O", "B-Hours", "B-Restaurant_Name"), "x.bio:3")
    tasks = tasks_from_sentences([sentence], config, problems=problems)
    assert [r["value"]["text"] for r in tasks[0]["annotations"][0]["result"]] == ["24/7", "joe's"]
    assert problems == [Problem("retokenized", "token 1 ('24/7', \"joe's\") becomes ('24', '/', '7') in Label Studio",
                                field="x.bio:3")]


def test_render_report_lists_counts_and_problems(tmp_path, config):
    _, report = convert(tmp_path, config, region(7, 10, "izz", "Dish"))
    assert render_report(report) == (
        f"{tmp_path / 'export.json'} (json)\n"
        "  tasks read: 1  (without annotations: 0)\n"
        "  annotations used: 1  skipped: none\n"
        "  sentences: 1\n"
        "  problems: 1 (off_boundary 1)\n"
        "    [off_boundary] task 7, annotation 70, result[0].value: 'izz' [7:10] is not on token boundaries; "
        "tokens ['pizzas'] -> snapped to the tokens it overlaps (as Label Studio's CONLL2003 export does)")
