"""Words → sub-tokens: the label-alignment rule of run_ner, and the tensors a Trainer consumes.

The first sub-token of a word gets the word's label; continuation sub-tokens and special tokens get -100 (ignored
by the loss), unless ``label_all_subtokens``: then continuations get the word's label too, with ``B-X`` turned
into ``I-X`` so one word never opens two entities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from converters.corpus import Sentence

IGNORE = -100


def align_labels(word_ids: Sequence[int | None], word_tags: Sequence[str], tag2id: Mapping[str, int], *,
                 label_all_subtokens: bool = False) -> list[int]:
    """One label id per sub-token, for the sub-token → word map ``word_ids`` (None for special tokens)."""
    labels: list[int] = []
    previous: int | None = None
    for word in word_ids:
        if word is None:
            labels.append(IGNORE)
        elif word != previous:
            labels.append(tag2id[word_tags[word]])
        elif label_all_subtokens:
            tag = word_tags[word]
            labels.append(tag2id["I-" + tag[2:]] if tag.startswith("B-") else tag2id[tag])
        else:
            labels.append(IGNORE)
        previous = word
    return labels


def first_subtoken_positions(word_ids: Sequence[int | None]) -> dict[int, int]:
    """word index → position of its first sub-token (words cut off by truncation are missing)."""
    positions: dict[int, int] = {}
    for position, word in enumerate(word_ids):
        if word is not None and word not in positions:
            positions[word] = position
    return positions


class TokenClassificationData:
    """A map-style dataset of encoded sentences (input_ids, attention_mask, labels) for the Trainer's loader."""

    def __init__(self, features: list[dict[str, list[int]]]) -> None:
        self.features = features

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        return self.features[index]


def encode_sentences(tokenizer: Any, sentences: Sequence[Sentence], tag2id: Mapping[str, int], *,
                     max_length: int, label_all_subtokens: bool = False) -> TokenClassificationData:
    """Tokenize pre-split words (no padding: the collator pads each batch) and align their labels."""
    features: list[dict[str, list[int]]] = []
    for sentence in sentences:
        encoding = tokenizer(list(sentence.tokens), is_split_into_words=True, truncation=True,
                             max_length=max_length)
        labels = align_labels(encoding.word_ids(), sentence.tags, tag2id, label_all_subtokens=label_all_subtokens)
        features.append({"input_ids": encoding["input_ids"], "attention_mask": encoding["attention_mask"],
                         "labels": labels})
    return TokenClassificationData(features)
