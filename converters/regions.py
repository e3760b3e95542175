"""Entities as Label Studio regions: the one builder of a ``labels`` result region, used wherever nerloop writes
spans into Label Studio (BIO corpora as tasks, the backend's and ``nerloop predict``'s suggestions, the label-issues
predictions of an audit).

A region names the config's ``from_name``/``to_name`` and holds ``value.start/end/text/labels``: character offsets
into the task's text (end exclusive) and the text they cover, so Label Studio shows exactly those characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from converters.corpus import Entity
from converters.tokens import Token
from labeling_config import LabelConfig


def region(text: str, start: int, end: int, label: str, config: LabelConfig, *,
           score: float | None = None) -> dict[str, Any]:
    """One region over ``text[start:end]`` labelled ``label`` (with the model's ``score`` for a prediction)."""
    return span_region(start, end, text[start:end], label, config, score=score)


def span_region(start: int, end: int, covered: str, label: str, config: LabelConfig, *,
                score: float | None = None) -> dict[str, Any]:
    """One region from a span that carries its own ``covered`` text (``start``/``end`` into the task's text)."""
    out: dict[str, Any] = {"from_name": config.from_name, "to_name": config.to_name, "type": "labels",
                           "value": {"start": start, "end": end, "text": covered, "labels": [label]}}
    if score is not None:
        out["score"] = score
    return out


def word_regions(text: str, words: Sequence[Token], entities: Iterable[Entity],
                 config: LabelConfig) -> list[dict[str, Any]]:
    """Entities over word ranges (``Entity.start``/``end`` index ``words``) as regions over the words' characters."""
    return [region(text, words[e.start].start, words[e.end - 1].end, e.label, config) for e in entities]
