"""Rank annotated sentences by how likely their labels are wrong, from out-of-sample word probabilities.

cleanlab's ``token_classification`` does the work (``get_label_quality_scores`` for word scores,
``find_label_issues`` for the words it flags); nerloop only chooses what it is given:

- Classes are entity types, not IOB2 tags: ``B-X`` and ``I-X`` are merged into ``X`` (their probabilities summed),
  so a model unsure whether a word starts or continues a Dish does not look like a label error.
- A sentence's score is that of its least-believed entity (``words="entities"``, the default): for every annotated
  entity and every entity the model predicts, the mean of cleanlab's word scores (self-confidence: the model's
  probability of the *annotated* type) over its words, and the minimum of those. Words both sides call O only add
  noise, and one unsure word of a long entity does not outweigh the rest of it. ``words="all"`` is cleanlab's own
  sentence score (the minimum over every word). On the MIT benchmark (bench/label_errors.py) the entity score
  found about twice as many planted errors in its top N as either minimum.
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


def entity_runs(classes: np.ndarray) -> list[tuple[int, int]]:
    """Half-open word ranges of consecutive words of one non-O class."""
    runs, start = [], None
    for j, value in enumerate([*classes.tolist(), 0]):
        if start is not None and (value == 0 or value != classes[start]):
            runs.append((start, j))
            start = None
        if start is None and value != 0:
            start = j
    return runs


def entity_score(word_scores: np.ndarray, given: np.ndarray, predicted: np.ndarray) -> float:
    """The lowest mean word score over the annotated and the predicted entities (1.0 when there are none)."""
    runs = entity_runs(given) + entity_runs(predicted)
    return min(float(word_scores[a:b].mean()) for a, b in runs) if runs else 1.0


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
        score = entity_score(scores, labels, guess) if words == "entities" else float(scores.min())
        chosen = sorted(flagged.get(row, ())) or ([int(relevant[np.argmin(scores[relevant])])] if len(relevant)
                                                   else [])
        suspects = tuple(SuspectWord(j, sentences[index].tokens[j], classes[labels[j]], classes[guess[j]],
                                     float(scores[j])) for j in chosen)
        ranked.append(SentenceQuality(index, score, row in flagged, suspects, predicted_tags(probs[index], config)))
    ranked.sort(key=lambda q: (q.score, q.index))
    return ranked
