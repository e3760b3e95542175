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


def test_a_long_text_is_cut_into_windows_and_every_word_is_labelled_once(wordpiece: BertTokenizerFast) -> None:
    words = ("thai", "food", "in", "boston") * 6  # 24 words, 30 sub-tokens
    tags = ("B-Cuisine", "I-Cuisine", "O", "B-Location") * 6
    data = encode_sentences(wordpiece, [Sentence(words, tags)], TAG2ID, max_length=12, stride=4)
    assert data.counts.as_dict() == {"texts": 1, "windowed": 1, "windows": len(data), "max_length": 12, "stride": 4}
    assert len(data) >= 3
    labelled = []
    for feature in data.features:
        tokens = wordpiece.convert_ids_to_tokens(feature["input_ids"])
        assert len(tokens) <= 12 and tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
        labelled += [label for label in feature["labels"] if label != IGNORE]
    assert labelled == [TAG2ID[t] for t in tags]  # each word once, in order: nothing truncated, nothing doubled


def test_short_texts_are_one_window_each(wordpiece: BertTokenizerFast) -> None:
    sentence = Sentence(("thai", "food"), ("B-Cuisine", "I-Cuisine"))
    data = encode_sentences(wordpiece, [sentence, sentence], TAG2ID, max_length=12)
    assert data.counts.as_dict() == {"texts": 2, "windowed": 0, "windows": 2, "max_length": 12, "stride": 32}
