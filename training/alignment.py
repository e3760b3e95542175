"""Words → sub-tokens: the label-alignment rule of run_ner, long texts cut into windows, and the tensors a Trainer
consumes.

The first sub-token of a word gets the word's label; continuation sub-tokens and special tokens get -100 (ignored
by the loss), unless ``label_all_subtokens``: then continuations get the word's label too, with ``B-X`` turned
into ``I-X`` so one word never opens two entities.

A text longer than the window (``max_length`` sub-tokens, special tokens included) is never truncated: it is cut
into overlapping windows by ``inference.windows.plan_windows``, exactly as evaluation and serving cut it, and each
word is labelled in the one window that owns it (``inference.windows.owners``: the window where it has the most
context on both sides); in the other windows it is context only (-100). So every word is trained on once, and a
model learns each word in the position it will be read from at inference time.
"""

from __future__ import annotations

import logging
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from converters.corpus import Sentence
from core.window import DEFAULT_STRIDE
from inference.classifier import fitted_max_length, special_tokens
from inference.windows import owners, plan_windows

log = logging.getLogger(__name__)

IGNORE = -100


def align_labels(word_ids: Sequence[int | None], word_tags: Sequence[str], tag2id: Mapping[str, int], *,
                 label_all_subtokens: bool = False, labelled: Container[int] | None = None) -> list[int]:
    """One label id per sub-token, for the sub-token → word map ``word_ids`` (None for special tokens).

    ``labelled``: the words that get labels here (None: all); the sub-tokens of the others get -100."""
    labels: list[int] = []
    previous: int | None = None
    for word in word_ids:
        if word is None or (labelled is not None and word not in labelled):
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
    """word index → position of its first sub-token (words without a sub-token are missing)."""
    positions: dict[int, int] = {}
    for position, word in enumerate(word_ids):
        if word is not None and word not in positions:
            positions[word] = position
    return positions


@dataclass(frozen=True)
class WindowCounts:
    """How the texts of one split fitted the window: ``windowed`` texts were cut into ``windows`` windows."""

    texts: int
    windowed: int
    windows: int  # model inputs in all (one per text that fits)
    max_length: int
    stride: int

    def as_dict(self) -> dict[str, int]:
        return {"texts": self.texts, "windowed": self.windowed, "windows": self.windows,
                "max_length": self.max_length, "stride": self.stride}


class TokenClassificationData:
    """A map-style dataset of encoded windows (input_ids, attention_mask, labels) for the Trainer's loader."""

    def __init__(self, features: list[dict[str, list[int]]], counts: WindowCounts | None = None) -> None:
        self.features = features
        self.counts = counts

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        return self.features[index]


def encode_sentences(tokenizer: Any, sentences: Sequence[Sentence], tag2id: Mapping[str, int], *,
                     max_length: int, stride: int = DEFAULT_STRIDE,
                     label_all_subtokens: bool = False) -> TokenClassificationData:
    """Tokenize pre-split words (no padding: the collator pads each batch), cut long texts into windows and align
    their labels; one feature per window, in text order."""
    max_length = fitted_max_length(tokenizer, max_length)
    prefix, suffix = special_tokens(tokenizer)
    room = max_length - len(prefix) - len(suffix)
    features: list[dict[str, list[int]]] = []
    windowed = 0
    texts = [list(s.tokens) for s in sentences]
    encoding = (tokenizer(texts, is_split_into_words=True, add_special_tokens=False, truncation=False,
                          verbose=False) if texts else None)
    for row, sentence in enumerate(sentences):
        ids, word_ids = encoding["input_ids"][row], encoding.word_ids(row)
        windows = plan_windows(row, word_ids, room, stride)
        windowed += len(windows) > 1
        for window, owned in zip(windows, owners(windows, len(sentence.tokens)), strict=True):
            span = [None] * len(prefix) + list(word_ids[window.start:window.end]) + [None] * len(suffix)
            labelled = None if len(windows) == 1 else set(window.words[owned].tolist())
            labels = align_labels(span, sentence.tags, tag2id, label_all_subtokens=label_all_subtokens,
                                  labelled=labelled)
            input_ids = prefix + list(ids[window.start:window.end]) + suffix
            features.append({"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "labels": labels})
    counts = WindowCounts(len(sentences), windowed, len(features), max_length, stride)
    if windowed:
        log.info("%d of %d texts are longer than the window (%d sub-tokens): cut into overlapping windows "
                 "(stride %d), %d model inputs in all", windowed, len(sentences), max_length, stride, len(features))
    return TokenClassificationData(features, counts)
