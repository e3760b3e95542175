"""The JSON route gives exactly the sentences of Label Studio's own CONLL2003 exporter, on generated exports.

Texts mix punctuation, ``'s``, ``24/7``, quotes, ``$``, unicode and doubled spaces; spans fall on and off token
edges, overlap, carry labels the config does not have; tasks have several annotations with shuffled dates and
cancelled ones. Whatever the JSON route does with a span (convert it by a documented rule or report it), the
tokens and tags must equal what Label Studio's exporter writes for the same project.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from converters.export import read_export
from converters.tokens import tokenize
from labeling_config import RESTAURANT_CONFIG
from tests.converters.studio_reference import studio_conll

WORDS = ["pizza", "Joe's", "24/7", '"cheap"', "café", "crème", "brûlée", ",", ".", "?", "near", "me", "kid-friendly",
         "5", "star", "$10", "it's", "o'clock", "(vegan)", "...", "A&W", "don't", "!", ":", "#1", "naïve", "ok."]
LABELS = ["Amenity", "Cuisine", "Dish", "Hours", "Location", "Price", "Rating", "Restaurant_Name"]


def make_text(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(1, 9))
    return "".join(w + rng.choice([" ", " ", " ", "  "]) for w in words).strip()


def make_region(rng: random.Random, text: str) -> dict:
    tokens = tokenize(text)
    i = rng.randrange(len(tokens))
    j = rng.randrange(i, min(len(tokens), i + 3))
    start, end = tokens[i].start, tokens[j].end
    if rng.random() < 0.2:  # off token edges: inside a word
        start = min(end - 1, start + rng.randint(0, 2))
    if rng.random() < 0.1 and end < len(text):  # a trailing space inside the span
        end += 1
    roll = rng.random()
    labels = ([rng.choice(LABELS)] if roll < 0.8 else ["Vibe"] if roll < 0.9  # "Vibe": not in the config
              else [rng.choice(LABELS), rng.choice(LABELS)] if roll < 0.95 else [])
    return {"from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": text[start:end], "labels": labels}}


def make_tasks(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    tasks, ann_id = [], 0
    for task_id in range(1, n + 1):
        text = make_text(rng)
        annotations = []
        for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
            ann_id += 1
            day = rng.randint(1, 28)
            annotations.append({
                "id": ann_id, "was_cancelled": rng.random() < 0.15, "ground_truth": False,
                "created_at": f"2026-05-{day:02d}T10:00:00.000000Z",
                "updated_at": f"2026-06-{rng.randint(1, 28):02d}T10:00:00.000000Z",
                "result": [make_region(rng, text) for _ in range(rng.randint(0, 3))]})
        tasks.append({"id": task_id, "data": {"text": text}, "annotations": annotations})
    return tasks


def both_routes(tasks: list[dict], work: Path, config) -> tuple[list, list]:
    json_file = work / "tasks.json"
    json_file.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    conll = studio_conll(tasks, RESTAURANT_CONFIG.read_text(encoding="utf-8"), work / "studio")
    from_json, _ = read_export(json_file, config)
    from_conll, _ = read_export(conll, config)
    return ([(s.tokens, s.tags) for s in from_json], [(s.tokens, s.tags) for s in from_conll])


def test_routes_agree_on_a_large_generated_export(config, tmp_path):
    json_pairs, conll_pairs = both_routes(make_tasks(seed=7, n=400), tmp_path, config)
    assert len(json_pairs) > 250
    assert json_pairs == conll_pairs


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12))
def test_routes_agree_on_any_generated_export(config, seed, n):
    tasks = make_tasks(seed, n)
    if not any(any(not a["was_cancelled"] for a in t["annotations"]) for t in tasks):
        return
    with tempfile.TemporaryDirectory() as work:
        json_pairs, conll_pairs = both_routes(tasks, Path(work), config)
    assert json_pairs == conll_pairs
