from __future__ import annotations

import pytest
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from converters.corpus import Sentence
from training.metrics import EntityError, bootstrap_f1, score_predictions

LABELS = ["Cuisine", "Dish", "Location", "Price"]
GOLD = [
    Sentence(("thai", "food", "in", "boston"), ("B-Cuisine", "I-Cuisine", "O", "B-Location"), "t.tsv:1"),
    Sentence(("cheap", "pizza", "near", "me"), ("B-Price", "B-Dish", "B-Location", "I-Location"), "t.tsv:6"),
    Sentence(("any", "sushi"), ("O", "B-Dish"), "t.tsv:11"),
]
PRED = [
    ("B-Cuisine", "O", "O", "B-Location"),  # Cuisine cut short: wrong boundary; Location right
    ("B-Price", "B-Cuisine", "B-Location", "I-Location"),  # pizza: wrong type
    ("B-Price", "O"),  # "any" spurious, sushi missed
]


@pytest.fixture(scope="module")
def evaluation():  # type: ignore[no-untyped-def]
    return score_predictions(GOLD, PRED, LABELS)


def test_exact_scores(evaluation) -> None:  # type: ignore[no-untyped-def]
    # gold 6 entities, predicted 6, correct 3 (Location, Price, Location)
    assert (evaluation.micro.precision, evaluation.micro.recall, evaluation.micro.support) == (0.5, 0.5, 6)
    assert evaluation.micro.f1 == pytest.approx(0.5)
    by_label = {e.label: (e.precision, e.recall, e.f1, e.support) for e in evaluation.entities}
    assert by_label == {"Cuisine": (0.0, 0.0, 0.0, 1), "Dish": (0.0, 0.0, 0.0, 2),
                        "Location": (1.0, 1.0, 1.0, 2), "Price": (0.5, 1.0, pytest.approx(2 / 3), 1)}
    assert evaluation.macro.f1 == pytest.approx((0 + 0 + 1 + 2 / 3) / 4)
    assert evaluation.token_accuracy == pytest.approx(6 / 10)


def test_scores_agree_with_seqeval_strict(evaluation) -> None:  # type: ignore[no-untyped-def]
    reference = classification_report([list(s.tags) for s in GOLD], [list(p) for p in PRED], mode="strict",
                                      scheme=IOB2, output_dict=True, zero_division=0)
    assert evaluation.micro.f1 == pytest.approx(reference["micro avg"]["f1-score"])
    assert evaluation.macro.f1 == pytest.approx(reference["macro avg"]["f1-score"])
    for entity in evaluation.entities:
        assert entity.f1 == pytest.approx(reference[entity.label]["f1-score"])


def test_strict_mode_ignores_an_i_without_b() -> None:
    gold = [Sentence(("new", "york"), ("B-Location", "I-Location"))]
    assert score_predictions(gold, [("I-Location", "I-Location")], ["Location"]).micro.f1 == 0.0


def test_confusion_matrix_counts(evaluation) -> None:  # type: ignore[no-untyped-def]
    confusion = evaluation.confusion
    assert confusion.labels == ("O", "Cuisine", "Dish", "Location", "Price")
    assert confusion.counts == (
        (1, 0, 0, 0, 1),  # gold O: "in" right, "any"→Price
        (1, 1, 0, 0, 0),  # gold Cuisine: thai ok, food→O
        (1, 1, 0, 0, 0),  # gold Dish: pizza→Cuisine, sushi→O
        (0, 0, 0, 3, 0),
        (0, 0, 0, 0, 1),
    )
    assert confusion.count("Dish", "Cuisine") == 1


def test_errors_are_classified_with_their_sentence(evaluation) -> None:  # type: ignore[no-untyped-def]
    assert evaluation.error_counts == {"false_positive": 1, "false_negative": 1, "wrong_type": 1,
                                       "wrong_boundary": 1}
    assert set(evaluation.errors) == {
        EntityError("wrong_boundary", "thai food in boston", "t.tsv:1", "Cuisine: thai food", "Cuisine: thai"),
        EntityError("wrong_type", "cheap pizza near me", "t.tsv:6", "Dish: pizza", "Cuisine: pizza"),
        EntityError("false_positive", "any sushi", "t.tsv:11", "", "Price: any"),
        EntityError("false_negative", "any sushi", "t.tsv:11", "Dish: sushi", ""),
    }
    assert evaluation.errors[0].sentence == "any sushi"  # the sentence with most errors comes first


def test_bootstrap_interval_of_a_perfect_and_a_hopeless_tagger() -> None:
    gold = [list(s.tags) for s in GOLD]
    assert bootstrap_f1(gold, gold) == (1.0, 1.0)
    assert bootstrap_f1(gold, [["O"] * len(tags) for tags in gold]) == (0.0, 0.0)


def test_bootstrap_interval_holds_the_figure_and_is_reproducible() -> None:
    gold = [list(s.tags) for s in GOLD] * 20
    pred = [list(p) for p in PRED] * 20
    low, high = bootstrap_f1(gold, pred, samples=500, seed=3)
    assert low < 0.5 < high  # micro F1 of the whole set is 0.5
    assert (low, high) == bootstrap_f1(gold, pred, samples=500, seed=3)
    assert (low, high) != bootstrap_f1(gold, pred, samples=500, seed=4)
