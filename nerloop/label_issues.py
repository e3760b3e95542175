"""Rank annotated sentences by how likely their labels are wrong, from out-of-sample word probabilities.

cleanlab's ``token_classification`` does the work (``get_label_quality_scores`` for word scores,
``find_label_issues`` for the words it flags); nerloop only chooses what it is given:

- Classes are entity types, not IOB2 tags: ``B-X`` and ``I-X`` are merged into ``X`` (their probabilities summed),
  so a model unsure whether a word starts or continues a Dish does not look like a label error.
- A sentence's score is the lowest word score among the words that matter: words inside an annotated entity or a
  predicted one (``words="entities"``, the default). Words both sides call O add nothing but noise from
  low-confidence background words; ``words="all"`` is cleanlab's own sentence score (the minimum over every word).
- The suspect words of a sentence are the words cleanlab flags; a sentence none of whose words are flagged is not
  an issue, however it ranks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from converters.corpus import Sentence
from labeling_config import LabelConfig

WordChoice = Literal["entities", "all"]


@dataclass(frozen=True)
class SuspectWord:
    index: int
    word: str
    annotated: str  # entity type or "O"
    predicted: str  # the model's entity type or "O"
    score: float  # cleanlab's self-confidence of the annotated type


@dataclass(frozen=True)
class SentenceQuality:
    index: int  # position in the input
    score: float  # 0..1, low = probably mislabelled
    flagged: bool  # cleanlab flags at least one word
    words: tuple[SuspectWord, ...]  # flagged words (or the lowest-scoring one when none is flagged)
    predicted_tags: tuple[str, ...]  # the model's IOB2 tags: the suggested fix


def entity_classes(config: LabelConfig) -> tuple[str, ...]:
    return ("O", *sorted(config.labels))


def merge_probs(probs: np.ndarray, config: LabelConfig) -> np.ndarray:
    """(words, IOB2 tags in ``config.tags`` order) -> (words, entity classes): B-X and I-X summed."""
    classes = entity_classes(config)
    merged = np.zeros((probs.shape[0], len(classes)), dtype=np.float64)
    for column, tag in enumerate(config.tags):
        merged[:, classes.index(tag.partition("-")[2] or "O")] += probs[:, column]
    merged /= merged.sum(axis=1, keepdims=True)
    return merged


def predicted_tags(probs: np.ndarray, config: LabelConfig) -> tuple[str, ...]:
    """Argmax IOB2 tags, with an ``I-X`` that does not continue an X turned into ``B-X``."""
    tags: list[str] = []
    for row in probs:
        tag = config.tags[int(np.argmax(row))]
        if tag.startswith("I-") and (not tags or tags[-1][2:] != tag[2:]):
            tag = "B-" + tag[2:]
        tags.append(tag)
    return tuple(tags)


def rank_sentences(sentences: Sequence[Sentence], probs: Sequence[np.ndarray], config: LabelConfig, *,
                   words: WordChoice = "entities") -> list[SentenceQuality]:
    """Every sentence with its quality score, lowest (most suspect) first; ``probs[i]`` is (words, tags)."""
    from cleanlab.token_classification.filter import find_label_issues
    from cleanlab.token_classification.rank import get_label_quality_scores

    classes = entity_classes(config)
    keep = [i for i, s in enumerate(sentences) if s.tokens]
    merged = [merge_probs(probs[i], config) for i in keep]
    given = [[classes.index(tag.partition("-")[2] or "O") for tag in sentences[i].tags] for i in keep]
    _, token_scores = get_label_quality_scores(given, merged)
    flagged: dict[int, set[int]] = {}
    for row, word in find_label_issues(given, merged):
        flagged.setdefault(row, set()).add(word)
    ranked: list[SentenceQuality] = []
    for row, index in enumerate(keep):
        scores = np.asarray(token_scores[row], dtype=np.float64)
        guess = merged[row].argmax(axis=1)
        labels = np.asarray(given[row])
        relevant = np.flatnonzero((labels != 0) | (guess != 0)) if words == "entities" else np.arange(len(scores))
        score = float(scores[relevant].min()) if len(relevant) else 1.0
        chosen = sorted(flagged.get(row, ())) or ([int(relevant[np.argmin(scores[relevant])])] if len(relevant)
                                                   else [])
        suspects = tuple(SuspectWord(j, sentences[index].tokens[j], classes[labels[j]], classes[guess[j]],
                                     float(scores[j])) for j in chosen)
        ranked.append(SentenceQuality(index, score, row in flagged, suspects, predicted_tags(probs[index], config)))
    ranked.sort(key=lambda q: (q.score, q.index))
    return ranked
