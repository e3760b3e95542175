"""The benchmarks' own logic that decides their figures: /predict regions back to test tokens (bench/peer.py), and
the planted error mixes of bench/label_errors.py."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.label_errors import corrupt, parse_mix
from bench.peer import goals, tags_from_entities, tags_from_regions
from converters.corpus import Sentence, read_tsv
from labeling_config import restaurant_config
from nerloop.demo import MIT_DIR


def region(start: int, end: int, label: str) -> dict:
    return {"value": {"start": start, "end": end, "labels": [label]}}


def test_regions_become_the_tags_of_the_tokens_they_cover() -> None:
    sentence = Sentence(("cheap", "thai", "food", "in", "new", "york"), ("O",) * 6)
    # "cheap thai food in new york": thai = 6..10, new york = 19..27
    result = [region(6, 10, "Cuisine"), region(19, 27, "Location")]
    assert tags_from_regions(sentence, result) == ["O", "B-Cuisine", "O", "O", "B-Location", "I-Location"]
    assert tags_from_regions(sentence, []) == ["O"] * 6


def test_spacy_entities_become_iob2_tags() -> None:
    assert tags_from_entities([(1, 3, "Dish"), (4, 5, "Price")], 5) == ["O", "B-Dish", "I-Dish", "O", "B-Price"]


def test_goals_need_both_axes_on_one_runtime() -> None:
    report = {"spacy": {"sentences_per_s": 1000.0},
              "nerloop_torch": {"f1_micro": 0.81, "sentences_per_s": 400.0},
              "nerloop_onnx-int8": {"f1_micro": 0.79, "sentences_per_s": 1200.0},
              "nerloop_training": {"f1_micro": 0.8}}
    assert goals(report) == {"torch": {"f1 >= 0.80": True, "sentences/s >= spaCy": False},
                             "onnx-int8": {"f1 >= 0.80": False, "sentences/s >= spaCy": True}}


def test_mixes_weigh_the_kinds_of_planted_errors() -> None:
    assert parse_mix("uniform") == {"swap": 1.0, "delete": 1.0, "cut": 1.0}
    assert parse_mix("swap=3,delete=1") == {"swap": 3.0, "delete": 1.0, "cut": 0.0}
    with pytest.raises(SystemExit, match="unknown kind 'typo'"):
        parse_mix("typo=1")
    config = restaurant_config()
    sentences = read_tsv(MIT_DIR / "train.bio", tags=config.tags)[:2000]
    kinds = {mix: Counter(v.split()[0] for v in corrupt(sentences, config, 0.05, 1, parse_mix(mix))[1].values())
             for mix in ("swap=3,delete=1,cut=1", "swap=1,delete=3,cut=1", "swap=0,delete=1,cut=0")}
    assert kinds["swap=3,delete=1,cut=1"].most_common(1)[0][0] == "swap"
    assert kinds["swap=1,delete=3,cut=1"].most_common(1)[0][0] == "delete"
    assert kinds["swap=0,delete=1,cut=0"] == Counter(delete=100)


def test_the_uniform_mix_plants_what_the_bench_always_planted() -> None:
    """Seed 0, uniform: the 383 errors behind the published figures (159 swaps, 161 deletions, 63 cuts)."""
    config = restaurant_config()
    sentences = read_tsv(MIT_DIR / "train.bio", tags=config.tags)
    planted = corrupt(sentences, config, 0.05, 0, parse_mix("uniform"))[1]
    assert Counter(v.split()[0] for v in planted.values()) == Counter(swap=159, delete=161, cut=63)
