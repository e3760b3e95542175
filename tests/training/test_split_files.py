from __future__ import annotations

import pytest

from converters.corpus import Sentence
from core.errors import TrainingError
from training.split_files import carve_validation


def sentence(*words: str) -> Sentence:
    return Sentence(words, ("O",) * len(words))


def test_copies_of_a_text_stay_on_one_side_of_the_cut() -> None:
    texts = [sentence("text", str(i)) for i in range(20)]
    sentences = [copy for text in texts for copy in (text, text, text)]  # every text three times
    for seed in range(10):
        train, validation = carve_validation(sentences, seed=seed)
        assert len(train) + len(validation) == 60
        assert {s.tokens for s in train}.isdisjoint({s.tokens for s in validation})
        assert len(validation) == 6  # 10%: two whole texts of three copies


def test_distinct_texts_carve_as_before() -> None:
    sentences = [sentence("text", str(i)) for i in range(30)]
    train, validation = carve_validation(sentences, seed=42)
    assert len(validation) == 3 and len(train) == 27
    assert carve_validation(sentences, seed=42) == (train, validation)


def test_one_distinct_text_cannot_be_carved() -> None:
    with pytest.raises(TrainingError, match=r"from 3 sentence\(s\) with 1 distinct text"):
        carve_validation([sentence("same")] * 3)
