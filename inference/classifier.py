"""Batched word-level inference: word lists in, per-word label probabilities (and tags) out.

This is the one place in nerloop that turns a text into word tags: evaluation, the promotion gate, the learning
curve and the backend's ``/predict`` all call ``TokenClassifier``. The hot path: one fast-tokenizer call for all
texts (``is_split_into_words``, no special tokens, no truncation), windows cut from those ids
(``inference.windows``), windows sorted by length and run ``batch_size`` at a time (padding only to the longest in
the batch), the first sub-token of each word gathered with one numpy index per batch, softmax on those rows only,
and each word's vector taken from the window that owns it (``inference.windows.owners``). The words' tags are the
most probable valid IOB2 sequence (``inference.decoding``); a word the tokenizer gives no sub-token (e.g. a lone
control character) is ``O``. The forward pass itself is a ``Runner`` (``inference.runners.TorchRunner`` or
``inference.onnx.OnnxRunner``).

Forward passes run one at a time by default (a runner spreads each over its intra-op threads). ``parallel`` lets
that many run at once, each batch of a call on its own thread: a bulk job has many independent batches, and on
2 cores two one-thread passes of MiniLM do 1.8-1.9 times the work of one, where one two-thread pass does 1.3-1.8.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from core.window import DEFAULT_MAX_LENGTH, DEFAULT_STRIDE
from inference.decoding import best_path
from inference.windows import Window, WindowSize, merge_windows, plan_windows

# (input_ids, attention_mask) as int64 arrays of shape (batch, length) -> logits (batch, length, labels)
Runner = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class WordScores:
    """Per-word probabilities of one text; ``scored[i]`` is False for a word the tokenizer gave no sub-token."""

    probs: np.ndarray  # (n_words, n_labels)
    scored: np.ndarray  # (n_words,) bool


def word_tags(scores: WordScores, tags: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Each word's tag on the most probable valid IOB2 sequence (``inference.decoding``) and that tag's probability;
    words without sub-tokens are ``O`` with confidence 1."""
    best = best_path(scores.probs, scores.scored, tags)
    confidence = scores.probs[np.arange(len(best)), best] if len(best) else np.zeros(0, dtype=np.float32)
    confidence = np.where(scores.scored, confidence, 1.0)
    names = [tags[i] if ok else "O" for i, ok in zip(best.tolist(), scores.scored.tolist(), strict=True)]
    return names, confidence


class _Slots:
    """At most ``limit`` holders at once, let in in the order they came: the next batch of one request queues behind
    the batches other requests are already waiting with, so concurrent requests share the model evenly instead of
    one of them starving. ``limit`` may change while it is held."""

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._held = 0
        self._lock = threading.Lock()
        self._waiting: deque[threading.Event] = deque()

    @property
    def limit(self) -> int:
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        with self._lock:
            self._limit = max(1, value)
            self._let_in()

    def __enter__(self) -> None:
        with self._lock:
            if not self._waiting and self._held < self._limit:
                self._held += 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._held -= 1
            self._let_in()

    def _let_in(self) -> None:
        while self._waiting and self._held < self._limit:
            self._held += 1
            self._waiting.popleft().set()


class TokenClassifier:
    """A token-classification model behind a ``Runner``, scoring words of many texts in a few forward passes."""

    def __init__(self, tokenizer, runner: Runner, id2label: dict[int, str], *, max_length: int = DEFAULT_MAX_LENGTH,
                 stride: int = DEFAULT_STRIDE, batch_size: int = 32, parallel: int = 1) -> None:
        self.tokenizer = tokenizer
        self.runner = runner
        self.tags = tuple(id2label[i] for i in range(len(id2label)))
        self.max_length = fitted_max_length(tokenizer, max_length)
        self.stride = stride
        self.batch_size = batch_size
        self.prefix, self.suffix = special_tokens(tokenizer)
        self.room = self.max_length - len(self.prefix) - len(self.suffix)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._passes = _Slots(parallel)  # forward passes at once, over all calls: cores are shared, not multiplied
        self._spread = max(1, parallel)  # threads a call's batches are spread over: the most passes ever allowed

    @property
    def parallel(self) -> int:
        """Forward passes that may run at once. It may change during a call (a bulk job lowers it while Label Studio
        works on the same cores): a call's batches are spread over as many threads as it was ever set to, and the
        passes beyond the current value wait."""
        return self._passes.limit

    @parallel.setter
    def parallel(self, value: int) -> None:
        self._passes.limit = value
        self._spread = max(self._spread, value)

    @property
    def window(self) -> WindowSize:
        return WindowSize(self.max_length, self.stride)

    def tag(self, texts: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
        """One tag per word of every text (texts given as word lists), in order."""
        return [tuple(word_tags(scores, self.tags)[0]) for scores in self.score(texts)]

    def score(self, texts: Sequence[Sequence[str]]) -> list[WordScores]:
        """Probabilities for every word of every text (texts given as word lists), in order."""
        results: list[WordScores | None] = [None] * len(texts)
        todo = [i for i, words in enumerate(texts) if words]
        for i, words in enumerate(texts):
            if not words:
                results[i] = WordScores(np.zeros((0, len(self.tags)), np.float32), np.zeros(0, bool))
        if not todo:
            return results  # type: ignore[return-value]
        encoding = self.tokenizer([list(texts[i]) for i in todo], is_split_into_words=True,
                                  add_special_tokens=False, truncation=False, verbose=False)
        ids = encoding["input_ids"]
        windows: list[Window] = []
        for row, _item in enumerate(todo):
            windows.extend(plan_windows(row, encoding.word_ids(row), self.room, self.stride))
        window_probs = self._run(windows, ids)
        per_item: dict[int, tuple[list[Window], list[np.ndarray]]] = {}
        for window, probs in zip(windows, window_probs, strict=True):
            bucket = per_item.setdefault(window.item, ([], []))
            bucket[0].append(window)
            bucket[1].append(probs)
        for row, item in enumerate(todo):
            item_windows, item_probs = per_item[row]
            probs, scored = merge_windows(item_windows, item_probs, len(texts[item]), len(self.tags))
            results[item] = WordScores(probs, scored)
        return results  # type: ignore[return-value]

    def _run(self, windows: list[Window], ids: list[list[int]]) -> list[np.ndarray]:
        out: list[np.ndarray] = [np.empty(0)] * len(windows)
        order = sorted(range(len(windows)), key=lambda i: windows[i].length)
        batches = [order[begin:begin + self.batch_size] for begin in range(0, len(order), self.batch_size)]

        def run(chosen: list[int]) -> None:
            for index, probs in zip(chosen, self._forward(windows, ids, chosen), strict=True):
                out[index] = probs

        if self._spread > 1 and len(batches) > 1:
            with ThreadPoolExecutor(max_workers=min(self._spread, len(batches)),
                                    thread_name_prefix="forward") as pool:
                list(pool.map(run, batches))
        else:
            for chosen in batches:
                run(chosen)
        return out

    def _forward(self, windows: list[Window], ids: list[list[int]], chosen: list[int]) -> list[np.ndarray]:
        """The word probabilities of the ``chosen`` windows, from one forward pass."""
        offset = len(self.prefix)
        width = max(windows[i].length for i in chosen) + offset + len(self.suffix)
        input_ids = np.full((len(chosen), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(chosen), width), dtype=np.int64)
        for row, index in enumerate(chosen):
            window = windows[index]
            sequence = self.prefix + ids[window.item][window.start:window.end] + self.suffix
            input_ids[row, :len(sequence)] = sequence
            mask[row, :len(sequence)] = 1
        with self._passes:
            logits = self.runner(input_ids, mask)
        rows = np.concatenate([np.full(len(windows[i].positions), r) for r, i in enumerate(chosen)])
        cols = np.concatenate([windows[i].positions for i in chosen]) + offset
        picked = logits[rows, cols].astype(np.float32)
        picked = np.exp(picked - picked.max(axis=1, keepdims=True))
        picked /= picked.sum(axis=1, keepdims=True)
        split = np.cumsum([len(windows[i].positions) for i in chosen])[:-1]
        return np.split(picked, split)


def fitted_max_length(tokenizer, max_length: int) -> int:
    """``max_length``, lowered to the tokenizer's ``model_max_length`` when that is smaller (and real)."""
    model_max = getattr(tokenizer, "model_max_length", None) or max_length
    return min(max_length, model_max) if model_max < 10**9 else max_length


def special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The ids the model expects before and after a sequence (e.g. [CLS] and [SEP] for BERT)."""
    encoding = tokenizer(["word"], is_split_into_words=True)
    ids, word_ids = encoding["input_ids"], encoding.word_ids()
    content = [i for i, word in enumerate(word_ids) if word is not None]
    return list(ids[:content[0]]), list(ids[content[-1] + 1:])
