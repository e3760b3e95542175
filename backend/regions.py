"""Per-word probabilities → Label Studio regions with exact character offsets and scores.

Offsets come from the word tokenizer (``converters.tokens.tokenize``: character offsets into the task text) and the
model's per-word tags, never from searching the text. Tags are decoded with ``converters.corpus.decode_entities``,
so a ``B-X`` always starts a new region: two neighbouring entities of one type stay two regions.

Scores:
- region ``score``: the mean, over the entity's words, of each word's highest label probability (first sub-token).
- task ``score``: the lowest such probability over all words of the text, i.e. the model's confidence in its
  least certain word. Sorting tasks by prediction score ascending in Label Studio shows the least certain first.
  A task the model did not see (no words, no model, unusable data) gets ``0.0`` and an empty result.
"""

from __future__ import annotations

from collections.abc import Sequence

from converters.corpus import decode_entities
from converters.tokens import Token
from inference.classifier import WordScores, word_tags
from labeling_config.config import LabelConfig


def build_regions(text: str, words: Sequence[Token], scores: WordScores, tags: Sequence[str],
                  config: LabelConfig) -> tuple[list[dict], float, int]:
    """The regions of one task, the task score, and how many entities were left out because the project does not
    have their label (never renamed; the caller counts them)."""
    if not words:
        return [], 0.0, 0
    names, confidence = word_tags(scores, tags)
    allowed = set(config.labels)
    regions: list[dict] = []
    dropped = 0
    for entity in decode_entities(names):
        if entity.label not in allowed:
            dropped += 1
            continue
        start, end = words[entity.start].start, words[entity.end - 1].end
        regions.append({
            "from_name": config.from_name,
            "to_name": config.to_name,
            "type": "labels",
            "value": {"start": start, "end": end, "text": text[start:end], "labels": [entity.label]},
            "score": round(float(confidence[entity.start:entity.end].mean()), 4),
        })
    return regions, round(float(confidence.min()), 4), dropped
