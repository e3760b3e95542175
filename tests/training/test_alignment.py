from __future__ import annotations

import inspect

import pytest
from transformers import BertTokenizerFast

from converters.corpus import Sentence
from training.alignment import IGNORE, align_labels, encode_sentences, first_subtoken_positions

TAG2ID = {"O": 0, "B-Cuisine": 1, "I-Cuisine": 2, "B-Location": 3, "I-Location": 4}


@pytest.fixture(scope="module")
def wordpiece() -> BertTokenizerFast:
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "thai", "food", "in", "bos", "##ton", "new", "york"]
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:
        return BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)})
    pytest.skip("transformers < 5 takes a vocab file")


def test_first_subtoken_gets_the_label_others_are_ignored() -> None:
    word_ids = [None, 0, 1, 2, 2, 2, None]
    tags = ("B-Cuisine", "O", "B-Location")
    assert align_labels(word_ids, tags, TAG2ID) == [IGNORE, 1, 0, 3, IGNORE, IGNORE, IGNORE]


def test_label_all_subtokens_turns_b_into_i_for_continuations() -> None:
    word_ids = [None, 0, 0, 1, 1, None]
    tags = ("B-Location", "I-Location")
    assert align_labels(word_ids, tags, TAG2ID, label_all_subtokens=True) == [IGNORE, 3, 4, 4, 4, IGNORE]


def test_first_subtoken_positions() -> None:
    assert first_subtoken_positions([None, 0, 1, 1, 2, None]) == {0: 1, 1: 2, 2: 4}


def test_encode_sentences_with_a_real_wordpiece_split(wordpiece: BertTokenizerFast) -> None:
    sentence = Sentence(("thai", "food", "in", "boston"), ("B-Cuisine", "I-Cuisine", "O", "B-Location"))
    first = encode_sentences(wordpiece, [sentence], TAG2ID, max_length=32)[0]
    assert wordpiece.convert_ids_to_tokens(first["input_ids"]) == ["[CLS]", "thai", "food", "in", "bos", "##ton",
                                                                   "[SEP]"]
    assert first["labels"] == [IGNORE, 1, 2, 0, 3, IGNORE, IGNORE]
    every = encode_sentences(wordpiece, [sentence], TAG2ID, max_length=32, label_all_subtokens=True)[0]
    assert every["labels"] == [IGNORE, 1, 2, 0, 3, 4, IGNORE]
    assert first["attention_mask"] == [1] * 7
