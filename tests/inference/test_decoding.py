"""Word tags are the most probable valid IOB2 sequence: an inside tag never starts an entity or follows another
type, a valid argmax is kept as it is, and words without sub-tokens stay ``O``."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.classifier import WordScores, word_tags
from inference.decoding import best_path

TAGS = ("O", "B-Dish", "I-Dish", "B-Price", "I-Price")


def tags_of(rows: list[list[float]], scored: list[bool] | None = None) -> list[str]:
    probs = np.array(rows, dtype=np.float32)
    mask = np.array(scored if scored is not None else [True] * len(rows))
    return word_tags(WordScores(probs, mask), TAGS)[0]


def test_a_valid_argmax_is_kept() -> None:
    assert tags_of([[0.1, 0.6, 0.1, 0.1, 0.1], [0.1, 0.1, 0.6, 0.1, 0.1], [0.6, 0.1, 0.1, 0.1, 0.1]]) == [
        "B-Dish", "I-Dish", "O"]


def test_an_inside_tag_with_no_begin_becomes_the_begin_it_needs() -> None:
    # argmax: O I-Dish I-Dish; the best valid path is O B-Dish I-Dish (0.7 * 0.3 * 0.8 beats 0.7 * 0.2 * ...)
    rows = [[0.7, 0.1, 0.1, 0.05, 0.05], [0.2, 0.3, 0.45, 0.0, 0.05], [0.1, 0.05, 0.8, 0.0, 0.05]]
    assert tags_of(rows) == ["O", "B-Dish", "I-Dish"]


def test_an_inside_tag_of_another_type_is_not_glued_on() -> None:
    # argmax: B-Dish I-Price; valid choices are B-Dish I-Dish (0.6*0.3), B-Dish B-Price (0.6*0.2), ...
    rows = [[0.1, 0.6, 0.1, 0.1, 0.1], [0.1, 0.1, 0.3, 0.2, 0.3]]
    assert tags_of(rows) == ["B-Dish", "I-Dish"]


def test_a_word_without_sub_tokens_is_outside_with_full_confidence() -> None:
    # the middle word cannot carry the Dish on: the third starts a new one rather than continuing with I-Dish
    probs = np.array([[0.1, 0.8, 0.05, 0.05, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0], [0.1, 0.2, 0.6, 0.05, 0.05]],
                     dtype=np.float32)
    names, confidence = word_tags(WordScores(probs, np.array([True, False, True])), TAGS)
    assert names == ["B-Dish", "O", "B-Dish"]
    assert confidence.tolist() == [np.float32(0.8), 1.0, np.float32(0.2)]


def test_no_words_give_no_tags() -> None:
    assert tags_of([]) == []


def valid(path: tuple[str, ...]) -> bool:
    previous = "O"
    for tag in path:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.floats(0.001, 1.0), min_size=len(TAGS), max_size=len(TAGS)), min_size=1, max_size=5))
def test_the_path_is_valid_and_no_valid_path_is_more_probable(rows: list[list[float]]) -> None:
    probs = np.array(rows)
    probs /= probs.sum(axis=1, keepdims=True)
    path = tuple(TAGS[i] for i in best_path(probs, np.ones(len(rows), bool), TAGS))
    assert valid(path)

    def log_score(tags: tuple[str, ...]) -> float:
        return float(sum(np.log(probs[i, TAGS.index(t)]) for i, t in enumerate(tags)))

    best = max(log_score(other) for other in itertools.product(TAGS, repeat=len(rows)) if valid(other))
    assert log_score(path) >= best - 1e-9


def test_predictions_get_one_region_where_argmax_would_glue_two_types() -> None:
    from converters.tokens import tokenize
    from inference.predictions import build_regions
    from labeling_config import parse_config, render_config

    config = parse_config(render_config(["Dish", "Price"]))
    text = "pad thai"
    # argmax: B-Dish I-Price, which Label Studio's reading (conlleval) would turn into a Dish and a Price region;
    # the valid path is B-Dish I-Dish: one Dish region, scored with the decoded tags' mean probability
    probs = np.array([[0.1, 0.6, 0.1, 0.1, 0.1], [0.1, 0.1, 0.3, 0.2, 0.3]], dtype=np.float32)
    regions, _, dropped = build_regions(text, tokenize(text), WordScores(probs, np.ones(2, bool)), TAGS, config)
    assert dropped == 0
    assert [(r["value"]["start"], r["value"]["end"], r["value"]["text"], r["value"]["labels"], r["score"])
            for r in regions] == [(0, 8, "pad thai", ["Dish"], 0.45)]
