"""Word tags from word probabilities: the most probable *valid* IOB2 sequence (Viterbi), not each word's argmax.

Each word's argmax can give sequences no annotator could have written: ``O I-Dish`` (an inside tag with no begin) or
``B-Dish I-Price`` (an inside tag of another type). A strict scorer (seqeval's IOB2 mode) counts neither as an
entity, and Label Studio's regions read them with the conlleval rule (an ``I-X`` that does not continue an X starts
one), so the same tags would mean different entities in evaluation and in ``/predict``. The decoder here picks the
sequence with the highest product of word probabilities among those where every ``I-X`` follows ``B-X`` or ``I-X``,
so every sequence it returns means the same entities to both readers. Where each word's argmax is already valid it
is that sequence (the product of per-word maxima is the maximum).

A word without a sub-token (``WordScores.scored`` False) is ``O`` with confidence 1, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise

import numpy as np

_TINY = 1e-30  # log(0) guard: a probability that underflowed to 0 is still a possible (very unlikely) tag


@lru_cache(maxsize=64)
def transitions(tags: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Additive log-scores for the first tag (``start``, shape ``(T,)``) and for tag ``a`` → tag ``b``
    (``step[a, b]``): 0 where allowed, -inf where ``b`` is an ``I-X`` that neither ``B-X`` nor ``I-X`` precedes."""
    count = len(tags)
    start = np.zeros(count)
    step = np.zeros((count, count))
    for b, tag in enumerate(tags):
        prefix, _, kind = tag.partition("-")
        if prefix != "I":
            continue
        start[b] = -np.inf
        for a, before in enumerate(tags):
            if before not in (f"B-{kind}", f"I-{kind}"):
                step[a, b] = -np.inf
    return start, step


@lru_cache(maxsize=64)
def successors(tags: tuple[str, ...]) -> tuple[frozenset[int], tuple[frozenset[int], ...]]:
    """``transitions`` as sets: the tags a path may start with, and for each tag the tags that may follow it."""
    start, step = transitions(tags)
    return (frozenset(np.flatnonzero(np.isfinite(start)).tolist()),
            tuple(frozenset(np.flatnonzero(np.isfinite(row)).tolist()) for row in step))


def best_path(probs: np.ndarray, scored: np.ndarray, tags: Sequence[str]) -> np.ndarray:
    """The index of each word's tag on the most probable valid IOB2 path; unscored words are forced to ``O``."""
    n = len(probs)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    tags = tuple(tags)
    all_scored = bool(scored.all())
    outside = tags.index("O") if "O" in tags else 0
    # Each word's most probable tag (argmax is unchanged by the log below); most texts' greedy path is valid, and
    # checking that in Python costs less than the numpy calls of the search.
    greedy = probs.argmax(axis=1)
    if not all_scored:
        greedy[~scored] = outside
    first, following = successors(tags)
    path = greedy.tolist()
    if path[0] in first and all(b in following[a] for a, b in pairwise(path)):
        return greedy
    start, step = transitions(tags)
    logp = np.log(np.maximum(probs.astype(np.float64), _TINY))
    if not all_scored:
        forced = np.full(len(tags), -np.inf)
        forced[outside] = 0.0
        logp[~scored] = forced
    back = np.zeros((n, len(tags)), dtype=np.int64)
    score = logp[0] + start
    for i in range(1, n):
        candidates = score[:, None] + step
        back[i] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + logp[i]
    path = np.zeros(n, dtype=np.int64)
    path[-1] = int(score.argmax())
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path
