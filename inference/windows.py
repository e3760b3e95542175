"""Long texts as overlapping model windows cut at word boundaries, the one rule that gives each word its window,
and the window size a round was trained with.

A text is tokenized once into sub-tokens (``word_ids`` ties each sub-token to its word). A text that fits the model
window is one window. A longer one becomes windows of at most ``room`` sub-tokens that start and end on word
boundaries and overlap by about ``stride`` sub-tokens (at most half a window).

**The rule** (``owners``), the same for training, evaluation and serving: each word belongs to the window in which
its first sub-token sits farthest from a window edge, i.e. has the most context on both sides (ties: the earlier
window). Training puts the word's label in that window only (the other windows see it as context); inference takes
the word's probability vector (softmax of its first sub-token's logits) from that window, and its tag is the argmax.
Nothing is truncated silently: only a single word longer than a whole window loses its tail sub-tokens, and a word
is always scored on its first sub-token.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.window import DEFAULT_MAX_LENGTH, DEFAULT_STRIDE

WINDOW_FILE = "window.json"  # in a round's model folder: {"max_length": 128, "stride": 32}


@dataclass(frozen=True)
class WindowSize:
    """Sub-tokens per window (special tokens included) and the overlap between windows of a long text."""

    max_length: int = DEFAULT_MAX_LENGTH
    stride: int = DEFAULT_STRIDE


def write_window_size(model_dir: str | Path, size: WindowSize) -> Path:
    """Record the window a model was trained with next to its weights (``window.json``)."""
    path = Path(model_dir) / WINDOW_FILE
    path.write_text(json.dumps({"max_length": size.max_length, "stride": size.stride}) + "\n", encoding="utf-8")
    return path


def read_window_size(model_dir: str | Path) -> WindowSize:
    """The window recorded with a model; a model saved before rounds recorded it gets the defaults
    (``core.window``)."""
    path = Path(model_dir) / WINDOW_FILE
    if not path.is_file():
        return WindowSize()
    data = json.loads(path.read_text(encoding="utf-8"))
    return WindowSize(int(data["max_length"]), int(data["stride"]))


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


def owners(windows: Sequence[Window], n_words: int) -> list[np.ndarray]:
    """For each window of one text, a mask over ``window.words``: the words it owns under the rule above.

    Every word that has a sub-token is owned by exactly one window."""
    if len(windows) == 1:
        return [np.ones(len(windows[0].words), dtype=bool)]
    best = np.full(n_words, -1, dtype=np.int64)
    owner = np.full(n_words, -1, dtype=np.int64)
    for index, window in enumerate(windows):
        centrality = np.minimum(window.positions, window.length - 1 - window.positions)
        better = centrality > best[window.words]
        best[window.words[better]] = centrality[better]
        owner[window.words[better]] = index
    return [owner[window.words] == index for index, window in enumerate(windows)]


def merge_windows(windows: Sequence[Window], probs: Sequence[np.ndarray], n_words: int,
                  n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-word probabilities of one text from its windows: ``(n_words, n_labels)`` and a mask of scored words."""
    if len(windows) == 1 and len(windows[0].words) == n_words:  # one window holding every word: its rows, in order
        return np.asarray(probs[0], dtype=np.float32), np.ones(n_words, dtype=bool)
    out = np.zeros((n_words, n_labels), dtype=np.float32)
    scored = np.zeros(n_words, dtype=bool)
    for window, window_probs, owned in zip(windows, probs, owners(windows, n_words), strict=True):
        out[window.words[owned]] = window_probs[owned]
        scored[window.words[owned]] = True
    return out, scored
