"""Split a long word sequence into overlapping model windows at word boundaries, and merge the windows back.

A text is tokenized once into sub-tokens (``word_ids`` ties each sub-token to its word). A text that fits the model
window is one window. A longer one becomes windows of at most ``room`` sub-tokens that start and end on word
boundaries and overlap by about ``stride`` sub-tokens; each word takes its prediction from the window in which it
sits farthest from an edge (the most context on both sides). Nothing is truncated silently: only a single word
longer than a whole window loses its tail sub-tokens, and a word is always scored on its first sub-token.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Window:
    """One model input: ``item`` (which text), its sub-token range ``[start, end)``, the words scored in it."""

    item: int
    start: int
    end: int
    words: np.ndarray  # word indices whose first sub-token lies in [start, end)
    positions: np.ndarray  # those first sub-tokens, relative to ``start``

    @property
    def length(self) -> int:
        return self.end - self.start


def word_starts(word_ids: Sequence[int | None]) -> tuple[list[int], list[int]]:
    """The words that have sub-tokens and the position of each one's first sub-token (both ascending)."""
    words: list[int] = []
    firsts: list[int] = []
    previous = None
    for position, word in enumerate(word_ids):
        if word is not None and word != previous:
            words.append(word)
            firsts.append(position)
        previous = word
    return words, firsts


def plan_windows(item: int, word_ids: Sequence[int | None], room: int, stride: int) -> list[Window]:
    """Windows of at most ``room`` sub-tokens over one text (``word_ids`` of its sub-tokens, no special tokens)."""
    words, firsts = word_starts(word_ids)
    total = len(word_ids)
    word_arr, first_arr = np.asarray(words, dtype=np.int64), np.asarray(firsts, dtype=np.int64)
    if total <= room:
        return [Window(item, 0, total, word_arr, first_arr)]
    stride = min(stride, room // 2)
    windows: list[Window] = []
    start = 0
    while True:
        limit = start + room
        if limit >= total:
            end = total
        else:
            # the last word boundary that fits; a single word longer than the window is cut
            cut = bisect_right(firsts, limit) - 1
            end = firsts[cut] if cut >= 0 and firsts[cut] > start else limit
        lo, hi = bisect_left(firsts, start), bisect_left(firsts, end)
        windows.append(Window(item, start, end, word_arr[lo:hi], first_arr[lo:hi] - start))
        if end >= total:
            return windows
        following = bisect_left(firsts, max(end - stride, start + 1))
        if following >= len(firsts):
            return windows
        start = firsts[following]


def merge_windows(windows: Sequence[Window], probs: Sequence[np.ndarray], n_words: int,
                  n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-word probabilities of one text from its windows: ``(n_words, n_labels)`` and a mask of scored words."""
    out = np.zeros((n_words, n_labels), dtype=np.float32)
    scored = np.zeros(n_words, dtype=bool)
    if len(windows) == 1:
        window = windows[0]
        out[window.words] = probs[0]
        scored[window.words] = True
        return out, scored
    best = np.full(n_words, -1, dtype=np.int64)
    for window, window_probs in zip(windows, probs, strict=True):
        centrality = np.minimum(window.positions, window.length - 1 - window.positions)
        better = centrality > best[window.words]
        chosen = window.words[better]
        out[chosen] = window_probs[better]
        best[chosen] = centrality[better]
        scored[chosen] = True
    return out, scored
