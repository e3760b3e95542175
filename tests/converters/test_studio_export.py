"""The three export routes agree on a real Label Studio 1.23.2 export (tests/fixtures/make_studio_exports.py)."""

from __future__ import annotations

from converters.conversion_report import Problem
from converters.export import detect_format, read_export
from tests.converters.converter_helpers import FIXTURES

EXPECTED = [
    (("I", "want", "Joe", "'s", "pizza", ",", "open", "24", "/", "7", "near", "me", "."),
     ("O", "O", "B-Restaurant_Name", "I-Restaurant_Name", "I-Restaurant_Name", "O", "O", "B-Hours", "I-Hours",
      "I-Hours", "B-Location", "I-Location", "O")),
    (("any", '"', "cheap", '"', "café", "with", "crème", "brûlée", "?"),
     ("O", "O", "B-Price", "O", "B-Cuisine", "O", "B-Dish", "I-Dish", "O")),
    (("best", "sushi", "place", "in", "town"), ("B-Rating", "B-Cuisine", "O", "B-Location", "I-Location")),
    (("where", "can", "i", "get", "tacos"), ("O", "O", "O", "O", "B-Dish")),
    (("hello", "there"), ("O", "O")),
    (("cheap", "pizzas", "downtown"), ("O", "B-Dish", "B-Location")),
    (("a", "5", "star", "place", "that", "'s", "kid", "friendly"),
     ("O", "B-Rating", "I-Rating", "O", "O", "O", "B-Amenity", "I-Amenity")),
]


def _pairs(sentences):
    return [(s.tokens, s.tags) for s in sentences]


def test_formats_are_detected_from_content():
    assert detect_format(FIXTURES / "studio_export.conll") == "conll"
    assert detect_format(FIXTURES / "studio_export.json") == "json"
    assert detect_format(FIXTURES / "studio_export.min.json") == "json-min"


def test_conll_route(config):
    sentences, report = read_export(FIXTURES / "studio_export.conll", config)
    assert _pairs(sentences) == EXPECTED
    assert (report.format, report.tasks_read, report.annotations_used, report.sentences) == ("conll", 8, 7, 7)
    assert report.annotations_skipped == {"duplicate text": 1}
    assert report.problems == (Problem("duplicate_text", "'best sushi place in town' repeats the block at line 26",
                                       field="line 32"),)


def test_json_route(config):
    sentences, report = read_export(FIXTURES / "studio_export.json", config)
    assert _pairs(sentences) == EXPECTED
    assert [s.source for s in sentences] == ["task 1", "task 2", "task 3", "task 4", "task 7", "task 8", "task 9"]
    assert (report.tasks_read, report.tasks_without_annotations, report.annotations_used) == (9, 2, 7)
    assert report.annotations_skipped == {"cancelled": 2, "not chosen (newest)": 1}
    assert [(p.kind, p.task, p.annotation, p.field) for p in report.problems] == [
        ("off_boundary", 8, 9, "result[0].value")]
    assert report.problems[0].what == "'pizza' [6:11] is not on token boundaries; tokens ['pizzas']"


def test_json_min_route(config):
    sentences, report = read_export(FIXTURES / "studio_export.min.json", config, fmt="json-min")
    assert _pairs(sentences) == EXPECTED
    assert (report.tasks_read, report.tasks_without_annotations, report.annotations_used) == (8, 1, 7)
    assert report.annotations_skipped == {"not chosen (newest)": 1}
    assert [(p.kind, p.task, p.annotation) for p in report.problems] == [("off_boundary", 8, 9)]


def test_oldest_policy_takes_the_first_annotators_version(config):
    sentences, report = read_export(FIXTURES / "studio_export.json", config, policy="oldest")
    assert _pairs(sentences)[2] == (("best", "sushi", "place", "in", "town"), ("O", "B-Cuisine", "O", "O", "O"))
    assert report.annotations_skipped == {"cancelled": 2, "not chosen (oldest)": 1}


def test_conll_with_all_tasks_has_the_unannotated_task_as_all_o(config):
    """Label Studio quirk: with download_all_tasks an unannotated task is an all-O block, like an empty annotation."""
    sentences, _ = read_export(FIXTURES / "studio_export.all.conll", config)
    unannotated = (("is", "there", "parking", "at", "olive", "garden"), ("O",) * 6)
    assert _pairs(sentences) == [*EXPECTED[:4], unannotated, *EXPECTED[4:]]


def test_progress_reaches_the_total_on_every_route(config):
    seen: dict[str, list[tuple[int, int]]] = {}
    for name in ("studio_export.conll", "studio_export.json", "studio_export.min.json"):
        calls: list[tuple[int, int]] = []
        read_export(FIXTURES / name, config, progress=lambda done, total, calls=calls: calls.append((done, total)))
        seen[name] = calls
    assert seen["studio_export.conll"] == [(60, 60)]  # lines of the file (59 and the empty one after the last newline)
    assert seen["studio_export.json"] == [(i, 9) for i in range(1, 10)]  # tasks
    assert seen["studio_export.min.json"] == [(i, 8) for i in range(1, 9)]
