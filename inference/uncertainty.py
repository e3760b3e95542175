"""How useful a text would be to annotate next, from the model's per-word label probabilities.

Each strategy gives a text a *utility* (higher: annotate it sooner) from its words' probability vectors (the rows
of ``WordScores.probs`` for words the tokenizer gave sub-tokens). ``bench/active.py`` compares them with a simulated
annotator; the loop's order (the task score ``/predict`` stores, ascending = most useful first) is ``ORDER``.

- ``least_confidence``: 1 - the lowest of the words' highest probabilities (the least certain word decides).
- ``mnlp``: the mean over words of -log(highest probability) (Maximum Normalized Log-Probability, Shen et al.
  2017): length-normalised, so long texts are not favoured for being long.
- ``entropy``: the sum over words of the entropy of their label distribution (total token entropy).
- ``bald``: the sum over words of the mutual information between the label and the model's weights, estimated
  from Monte Carlo dropout samples of the classification layer (``inference.mc_dropout``; Shelmanov et al. 2021).
- ``<strategy>_per_token``: the strategy's utility divided by the text's word count: value per word annotated,
  since annotation costs by the word, not by the text.
- ``random``: no model; a seeded shuffle.

The task score Label Studio sorts by is a confidence in [0, 1], lower = more useful: ``exp(-utility)`` for the
log-based strategies (for ``mnlp`` it is the geometric mean of the words' highest probabilities) and the lowest
word confidence for ``least_confidence``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BASE_STRATEGIES = ("least_confidence", "mnlp", "entropy", "bald")
STRATEGIES = ("random", *BASE_STRATEGIES, *(f"{name}_per_token" for name in BASE_STRATEGIES))
ORDER = "entropy_per_token"  # the loop's order, measured by bench/active.py (README: Labelling in nerloop's order)
_EPS = 1e-12


def strategy_names(text: str) -> list[str]:
    """``"random,mnlp"`` → ``["random", "mnlp"]``, each checked."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in STRATEGIES]
    if unknown or not names:
        raise ValueError(f"unknown strategy {unknown or text!r}; choose from {', '.join(STRATEGIES)}")
    return names


def needs_samples(strategy: str) -> bool:
    """Whether the strategy needs Monte Carlo dropout samples (``bald`` and its per-token variant)."""
    return strategy.removesuffix("_per_token") == "bald"


def utility(strategy: str, probs: np.ndarray, samples: np.ndarray | None = None) -> float:
    """One text's utility under ``strategy``: ``probs`` is (words, labels), ``samples`` (draws, words, labels) for
    ``bald``. A text with no scored word has utility 0."""
    base = strategy.removesuffix("_per_token")
    words = probs.shape[0] if samples is None else samples.shape[1]
    if words == 0:
        return 0.0
    if base == "least_confidence":
        value = 1.0 - float(probs.max(axis=1).min())
    elif base == "mnlp":
        value = float(-np.log(np.maximum(probs.max(axis=1), _EPS)).mean())
    elif base == "entropy":
        value = float(_entropy(probs).sum())
    elif base == "bald":
        if samples is None:
            raise ValueError("bald needs dropout samples (inference.mc_dropout.dropout_samples)")
        value = float((_entropy(samples.mean(axis=0)) - _entropy(samples).mean(axis=0)).sum())
    else:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    return value / words if strategy.endswith("_per_token") else value


def task_score(probs: np.ndarray, strategy: str = ORDER) -> float:
    """The score a prediction carries for Label Studio: a confidence in [0, 1], lower = annotate sooner."""
    if probs.shape[0] == 0:
        return 0.0
    if strategy == "least_confidence":
        return round(float(probs.max(axis=1).min()), 4)
    if needs_samples(strategy) or strategy == "random":
        raise ValueError(f"{strategy!r} cannot be a task score (it needs dropout samples or no model)")
    return round(float(np.exp(-utility(strategy, probs))), 4)


def rank(utilities: Sequence[float]) -> list[int]:
    """Indexes from the most to the least useful; ties keep their input order."""
    return sorted(range(len(utilities)), key=lambda i: -utilities[i])


def _entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy (nats) along the last axis."""
    clipped = np.clip(probs, _EPS, 1.0)
    return -(clipped * np.log(clipped)).sum(axis=-1)
