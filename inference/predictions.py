"""Label Studio tasks → predictions, from a loaded round: the one function behind the backend's ``/predict``, the
refresh after a promotion and ``nerloop predict``.

Each task's text (``data[<the config's data key>]``) is split into Label Studio's words
(``converters.tokens.tokenize``), scored by the round's classifier, and each entity becomes a region
(``converters.regions``) with exact character offsets and a score:
- region ``score``: the mean, over the entity's words, of each word's highest label probability (first sub-token);
- task ``score``: the round's confidence in the whole text under the loop's order (``inference.uncertainty``:
  ``task_score`` with ``ORDER``), in [0, 1]; 1.0 for a text none of whose words got a sub-token. Sorting tasks by
  prediction score ascending in Label Studio (the tab "nerloop: most useful first") shows the most useful first.

Tags are decoded with ``converters.corpus.decode_entities``, so a ``B-X`` always starts a new region. Exactly one
prediction per task comes back, in order, stamped with the round's name. Per-task problems never fail the batch: a
task whose data lacks the key, whose text is not a string, is empty, holds a lone surrogate (not UTF-8), or is longer
than ``max_text_chars`` gets an empty ``result`` with score 0.0, and is listed in ``Predictions.skipped`` with the
reason (and logged with its id). Entities whose label the project's config lacks are left out (never renamed) and
counted in ``Predictions.dropped``. With no round (``model=None``) every task gets an empty result stamped
``no-model``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from converters.corpus import decode_entities
from converters.regions import region
from converters.tokens import Token, tokenize
from inference.classifier import WordScores, word_tags
from inference.loader import LoadedRound
from inference.uncertainty import task_score
from labeling_config import LabelConfig

log = logging.getLogger(__name__)
NO_MODEL = "no-model"  # the model_version of a project that has no round yet


@dataclass(frozen=True)
class Skipped:
    """A task that got an empty result, and why (``reason`` is a short metric label)."""

    task: Any
    reason: str
    message: str


@dataclass(frozen=True)
class Predictions:
    predictions: list[dict[str, Any]]  # one {"result", "score", "model_version"} per task, in order
    skipped: list[Skipped]
    regions: int  # regions emitted
    dropped: int  # entities left out: their label is not in the project's config


def predict_tasks(model: LoadedRound | None, tasks: Sequence[dict[str, Any]], config: LabelConfig, *,
                  max_text_chars: int = 200_000) -> Predictions:
    """One prediction per task from ``model`` (a round loaded with ``inference.loader.load_round``)."""
    version = model.version if model else NO_MODEL
    out: list[dict[str, Any]] = [{"result": [], "score": 0.0, "model_version": version} for _ in tasks]
    if model is None:
        return Predictions(out, [], 0, 0)
    skipped: list[Skipped] = []
    texts: list[str] = []
    chosen: list[int] = []
    for i, task in enumerate(tasks):
        text, problem = task_text(task, config, max_text_chars)
        if problem is None:
            texts.append(text)
            chosen.append(i)
        else:
            skipped.append(problem)
            log.warning("task %s: empty result: %s", problem.task, problem.message)
    words = [tokenize(text) for text in texts]
    scores = model.classifier.score([[w.text for w in ws] for ws in words])
    regions_total = dropped = 0
    for i, text, ws, score in zip(chosen, texts, words, scores, strict=True):
        regions, task_score, left_out = build_regions(text, ws, score, model.classifier.tags, config)
        out[i] = {"result": regions, "score": task_score, "model_version": version}
        regions_total += len(regions)
        dropped += left_out
    return Predictions(out, skipped, regions_total, dropped)


def build_regions(text: str, words: Sequence[Token], scores: WordScores, tags: Sequence[str],
                  config: LabelConfig) -> tuple[list[dict[str, Any]], float, int]:
    """The regions of one text, its task score, and how many entities were left out for a label the project does
    not have."""
    if not words:
        return [], 0.0, 0
    names, confidence = word_tags(scores, tags)
    allowed = set(config.labels)
    values = confidence.tolist()
    regions: list[dict[str, Any]] = []
    dropped = 0
    for entity in decode_entities(names):
        if entity.label not in allowed:
            dropped += 1
            continue
        regions.append(region(text, words[entity.start].start, words[entity.end - 1].end, entity.label, config,
                              score=round(_mean(confidence, values, entity.start, entity.end), 4)))
    return regions, task_score(scores.probs[scores.scored]) if scores.scored.any() else 1.0, dropped


def _mean(array: np.ndarray, values: list[float], start: int, end: int) -> float:
    """The mean of ``values[start:end]`` (``array`` holds them too): in double precision, with no numpy call for
    short spans (most entities)."""
    if end - start < 8:
        return sum(values[start:end]) / (end - start)
    return float(array[start:end].mean(dtype=np.float64))


def task_text(task: dict[str, Any], config: LabelConfig, max_text_chars: int) -> tuple[str, Skipped | None]:
    """The task's text, or why it cannot be predicted."""
    data = task.get("data") or {}
    key = config.data_key
    text = data.get(key)
    if key not in data:
        reason, message = "missing", f"no {key!r} in data (the label config reads ${key}); import tasks with data.{key}"
    elif not isinstance(text, str):
        reason, message = "not_text", f"data.{key} is {type(text).__name__}, not a string"
    elif not text.strip():
        reason, message = "empty", f"data.{key} is empty"
    elif not _encodable(text):
        reason, message = "not_utf8", f"data.{key} holds a lone surrogate (not encodable as UTF-8)"
    elif len(text) > max_text_chars:
        reason, message = "too_long", (f"data.{key} has {len(text)} characters, over max_text_chars="
                                       f"{max_text_chars}; split the task or raise NERLOOP_MAX_TEXT_CHARS")
    else:
        return text, None
    return "", Skipped(task.get("id"), reason, message)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
