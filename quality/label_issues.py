"""Rank annotated sentences by how likely their labels are wrong, from out-of-sample word probabilities.

cleanlab does the scoring (``get_label_quality_scores`` for word scores, ``token_classification``'s
``find_label_issues`` for the words it flags); nerloop only chooses what it is given and how a sentence's words add
up:

- Classes are entity types, not IOB2 tags: ``B-X`` and ``I-X`` are merged into ``X`` (their probabilities summed),
  so a model unsure whether a word starts or continues a Dish does not look like a label error.
- A word's score is cleanlab's self-confidence (the model's probability of the *annotated* type), seen two ways:
  as it is, and with cleanlab's ``adjust_pred_probs`` (each class's confident threshold, the mean self-confidence of
  the words annotated with it, subtracted first). The plain view finds a wrong type on an entity (a Dish annotated
  Location); the adjusted one finds what the model is less sure of than it usually is for that class, above all an
  entity left unannotated or cut short (an ``O`` word is normally believed at 0.93, so 0.5 stands out there).
- A sentence's score in one view is that of its least-believed entity: every annotated entity scores the mean of
  its words, every predicted entity the mean of those of its words the annotation labels differently (words both
  sides call O add only noise; one unsure word of a long entity does not outweigh the rest of it).
- ``scoring="fused"`` (the default) scores a sentence by the *lower* of its two views' scores (both are
  self-confidences in 0..1): whichever view holds the stronger evidence decides, so the top of the list follows the
  errors the data has, type swaps or missing entities. On bench/label_errors.py (5 % planted errors in MIT train,
  seed 1) it put 0.50 of a swap-heavy mix, 0.52 of a delete-heavy, 0.52 of a cut-heavy and 0.51 of a uniform one in
  its top N. The rank fusion used before (``scoring="ranks"``: each sentence's smaller rank of the two views) gives
  every view half the list whatever the mix: 0.56-0.57 on the uniform mix of seed 0 its scoring was chosen on, but
  0.45 on the swap-heavy one.
  ``scoring="entities"`` is the plain view alone with whole-entity means; ``scoring="all"`` is cleanlab's sentence
  score on entity types (the minimum over every word).
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

Scoring = Literal["fused", "ranks", "entities", "all"]


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


def disagreement_score(word_scores: np.ndarray, given: np.ndarray, predicted: np.ndarray) -> float:
    """The lowest of: each annotated entity's mean word score, and each predicted entity's mean over the words the
    annotation labels differently (1.0 when there are none)."""
    means = [float(word_scores[a:b].mean()) for a, b in entity_runs(given)]
    for a, b in entity_runs(predicted):
        differ = a + np.flatnonzero(given[a:b] != predicted[a:b])
        if len(differ):
            means.append(float(word_scores[differ].mean()))
    return min(means) if means else 1.0


def fuse_ranks(first: Sequence[float], second: Sequence[float]) -> np.ndarray:
    """Scores in 0..1 (0 = most suspect) from two rankings: each item's smaller rank, ties broken by the rank sum."""
    from scipy.stats import rankdata

    a, b = rankdata(first), rankdata(second)
    order = np.lexsort((a + b, np.minimum(a, b)))
    fused = np.empty(len(order))
    fused[order] = np.arange(len(order)) / max(1, len(order))
    return fused


def rank_sentences(sentences: Sequence[Sentence], probs: Sequence[np.ndarray], config: LabelConfig, *,
                   scoring: Scoring = "fused") -> list[SentenceQuality]:
    """Every sentence with its quality score, lowest (most suspect) first; ``probs[i]`` is (words, tags)."""
    from cleanlab.rank import get_label_quality_scores
    from cleanlab.token_classification.filter import find_label_issues

    classes = entity_classes(config)
    keep = [i for i, s in enumerate(sentences) if s.tokens]
    merged = [merge_probs(probs[i], config) for i in keep]
    given = [np.array([classes.index(tag.partition("-")[2] or "O") for tag in sentences[i].tags]) for i in keep]
    guesses = [m.argmax(axis=1) for m in merged]
    if not keep:
        return []
    bounds = np.cumsum([len(g) for g in given])[:-1]
    flat_given, flat_merged = np.concatenate(given), np.concatenate(merged)
    plain = np.split(get_label_quality_scores(flat_given, flat_merged, method="self_confidence"), bounds)
    if scoring in ("fused", "ranks"):
        adjusted = np.split(get_label_quality_scores(flat_given, flat_merged, method="self_confidence",
                                                     adjust_pred_probs=True), bounds)
        views = (np.array([disagreement_score(w, g, p) for w, g, p in zip(plain, given, guesses, strict=True)]),
                 np.array([disagreement_score(w, g, p) for w, g, p in zip(adjusted, given, guesses, strict=True)]))
        scores = np.minimum(*views) if scoring == "fused" else fuse_ranks(*views)
    elif scoring == "entities":
        scores = np.array([entity_score(w, g, p) for w, g, p in zip(plain, given, guesses, strict=True)])
    else:
        scores = np.array([w.min() for w in plain])
    flagged: dict[int, set[int]] = {}
    for row, word in find_label_issues([g.tolist() for g in given], merged):
        flagged.setdefault(row, set()).add(word)
    ranked: list[SentenceQuality] = []
    for row, index in enumerate(keep):
        words, labels, guess = plain[row], given[row], guesses[row]
        relevant = np.flatnonzero((labels != 0) | (guess != 0)) if scoring != "all" else np.arange(len(words))
        chosen = sorted(flagged.get(row, ())) or ([int(relevant[np.argmin(words[relevant])])] if len(relevant)
                                                   else [])
        suspects = tuple(SuspectWord(j, sentences[index].tokens[j], classes[labels[j]], classes[guess[j]],
                                     float(words[j])) for j in chosen)
        ranked.append(SentenceQuality(index, float(scores[row]), row in flagged, suspects,
                                      predicted_tags(probs[index], config)))
    ranked.sort(key=lambda q: (q.score, q.index))
    return ranked
