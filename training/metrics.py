"""Scores of predicted IOB2 tags against gold: seqeval strict entity P/R/F1, token accuracy, a token-level
confusion matrix between entity types, and the list of wrong entities with their sentence.

seqeval always runs with ``mode="strict", scheme=IOB2`` together (one without the other silently scores
leniently). The error list uses the same strict chunks, so its counts agree with the scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from converters.corpus import Sentence

ErrorKind = Literal["false_positive", "false_negative", "wrong_type", "wrong_boundary"]
MAX_ERRORS = 50
MAX_ERROR_SENTENCES = 50
Chunk = tuple[int, int, str]  # token start, token end (exclusive), entity type


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EntityScore(Score):
    label: str = ""


@dataclass(frozen=True)
class Confusion:
    """Token counts: ``counts[i][j]`` tokens of gold type ``labels[i]`` predicted as ``labels[j]`` (``O`` first)."""

    labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]

    def count(self, gold: str, predicted: str) -> int:
        return self.counts[self.labels.index(gold)][self.labels.index(predicted)]


@dataclass(frozen=True)
class EntityError:
    kind: ErrorKind
    sentence: str
    source: str
    gold: str  # "Cuisine: thai food" or "" (false positive)
    predicted: str  # "Dish: thai" or "" (false negative)


@dataclass(frozen=True)
class ErrorSentence:
    """A sentence with wrong entities, for the report: its tokens, every gold and predicted entity (token offsets)
    and its errors, each as ``(kind, gold chunk or None, predicted chunk or None)``."""

    source: str
    tokens: tuple[str, ...]
    gold: tuple[Chunk, ...]
    predicted: tuple[Chunk, ...]
    errors: tuple[tuple[ErrorKind, Chunk | None, Chunk | None], ...]


@dataclass(frozen=True)
class Evaluation:
    sentences: int
    entities: tuple[EntityScore, ...]  # by label name
    micro: Score
    macro: Score
    token_accuracy: float
    confusion: Confusion
    error_counts: dict[str, int]
    errors: tuple[EntityError, ...]  # the worst first (sentences with most errors), at most MAX_ERRORS
    error_sentences: tuple[ErrorSentence, ...] = ()  # the worst first, at most MAX_ERROR_SENTENCES
    sentences_with_errors: int = 0  # all of them, shown or not
    micro_f1_interval: tuple[float, float] | None = None  # 95 % bootstrap over sentences (``bootstrap_f1``)

    def f1_by_label(self) -> dict[str, float]:
        return {score.label: score.f1 for score in self.entities}


def _score(row: dict[str, float], label: str | None = None) -> Score:
    values = (float(row["precision"]), float(row["recall"]), float(row["f1-score"]), int(row["support"]))
    return EntityScore(*values, label=label) if label is not None else Score(*values)


def _chunks(tags: Sequence[str]) -> set[tuple[int, int, str]]:
    from seqeval.scheme import IOB2, Entities  # here, not at import: seqeval loads scikit-learn (about 0.9 s)

    return {(e.start, e.end, e.tag) for e in Entities([list(tags)], IOB2).entities[0]}


def _span(tokens: Sequence[str], chunk: tuple[int, int, str] | None) -> str:
    return f"{chunk[2]}: {' '.join(tokens[chunk[0]:chunk[1]])}" if chunk else ""


def classify_errors(gold: set[Chunk], pred: set[Chunk]) -> list[tuple[ErrorKind, Chunk | None, Chunk | None]]:
    """Classify each wrong entity: same span other type, overlapping span, spurious, or missed."""
    missed = gold - pred
    errors: list[tuple[ErrorKind, Chunk | None, Chunk | None]] = []

    def add(kind: ErrorKind, g: Chunk | None, p: Chunk | None) -> None:
        errors.append((kind, g, p))

    paired: set[tuple[int, int, str]] = set()
    for p in sorted(pred - gold):
        same_span = next((g for g in sorted(missed) if g[:2] == p[:2]), None)
        overlap = next((g for g in sorted(missed) if g[0] < p[1] and p[0] < g[1]), None)
        if same_span is not None:
            add("wrong_type", same_span, p)
            paired.add(same_span)
        elif overlap is not None:
            add("wrong_boundary", overlap, p)
            paired.add(overlap)
        else:
            add("false_positive", None, p)
    for g in sorted(missed - paired):
        add("false_negative", g, None)
    return errors


def list_errors(sentence: Sentence, gold: set[Chunk], pred: set[Chunk]) -> list[EntityError]:
    """The wrong entities of one sentence (``classify_errors`` of its gold and predicted chunks), each with its
    sentence's text."""
    return [EntityError(kind, sentence.text, sentence.source, _span(sentence.tokens, g), _span(sentence.tokens, p))
            for kind, g, p in classify_errors(gold, pred)]


def error_sentence(sentence: Sentence, gold: set[Chunk], pred: set[Chunk]) -> ErrorSentence:
    return ErrorSentence(sentence.source, tuple(sentence.tokens), tuple(sorted(gold)), tuple(sorted(pred)),
                         tuple(classify_errors(gold, pred)))


def _entity_type(tag: str) -> str:
    return tag[2:] if tag[:2] in ("B-", "I-") else "O"


def confusion_matrix(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                     labels: Sequence[str]) -> Confusion:
    """Token-level counts between entity types (B/I prefixes dropped); ``labels`` without ``O``."""
    names = ("O", *sorted(set(labels)))
    index = {name: i for i, name in enumerate(names)}
    counts = [[0] * len(names) for _ in names]
    for gold_tags, pred_tags in zip(gold, predicted, strict=True):
        for g, p in zip(gold_tags, pred_tags, strict=True):
            counts[index[_entity_type(g)]][index[_entity_type(p)]] += 1
    return Confusion(names, tuple(tuple(row) for row in counts))


def score_predictions(sentences: Sequence[Sentence], predicted: Sequence[Sequence[str]],
                      labels: Sequence[str], *, max_errors: int = MAX_ERRORS) -> Evaluation:
    """Evaluate predicted tags (one sequence per sentence) against the sentences' gold tags."""
    from seqeval.metrics import accuracy_score, classification_report
    from seqeval.scheme import IOB2

    gold = [list(s.tags) for s in sentences]
    pred = [list(p) for p in predicted]
    types = sorted(set(labels) | {_entity_type(t) for tags in gold for t in tags} - {"O"})
    report = classification_report(gold, pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    entities = tuple(_score(report[t], t) if t in report else EntityScore(0.0, 0.0, 0.0, 0, label=t) for t in types)
    empty = {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0}
    chunks = [(_chunks(s.tags), _chunks(p)) for s, p in zip(sentences, pred, strict=True)]  # once, for all below
    per_sentence = [list_errors(s, g, p) for s, (g, p) in zip(sentences, chunks, strict=True)]
    ranked = sorted(range(len(per_sentence)), key=lambda i: (-len(per_sentence[i]), i))
    errors = [e for i in ranked for e in per_sentence[i]]
    worst = [i for i in ranked if per_sentence[i]]
    shown = tuple(error_sentence(sentences[i], *chunks[i]) for i in worst[:MAX_ERROR_SENTENCES])
    counts = {kind: sum(e.kind == kind for e in errors)
              for kind in ("false_positive", "false_negative", "wrong_type", "wrong_boundary")}
    return Evaluation(
        sentences=len(sentences), entities=entities, micro=_score(report.get("micro avg", empty)),
        macro=_score(report.get("macro avg", empty)),
        token_accuracy=float(accuracy_score(gold, pred)) if gold else 0.0,
        confusion=confusion_matrix(gold, pred, types), error_counts=counts, errors=tuple(errors[:max_errors]),
        error_sentences=shown, sentences_with_errors=len(worst), micro_f1_interval=_bootstrap(chunks))


def bootstrap_f1(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], *, samples: int = 1000,
                 seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """A percentile bootstrap interval of strict micro F1, resampling whole sentences ``samples`` times: how much the
    figure would move on another test set of the same size and kind."""
    return _bootstrap([(_chunks(g), _chunks(p)) for g, p in zip(gold, predicted, strict=True)], samples=samples,
                      seed=seed, level=level)


def _bootstrap(chunks: Sequence[tuple[set[Chunk], set[Chunk]]], *, samples: int = 1000, seed: int = 0,
               level: float = 0.95) -> tuple[float, float]:
    """``bootstrap_f1`` from each sentence's gold and predicted chunks."""
    import numpy as np

    # per sentence: true positives, predicted entities, gold entities
    counts = np.array([(len(gold & pred), len(pred), len(gold)) for gold, pred in chunks], dtype=float)
    if not len(counts):
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    step = max(1, 2_000_000 // len(counts))  # resamples drawn at once: memory stays bounded for a large test split
    drawn = np.concatenate([counts[rng.integers(0, len(counts), size=(min(step, samples - start), len(counts)))]
                            .sum(axis=1) for start in range(0, samples, step)])
    f1 = 2 * drawn[:, 0] / np.maximum(drawn[:, 1] + drawn[:, 2], 1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(f1, [tail, 100 - tail])
    return float(low), float(high)
