"""The label-error finder with a tiny model: planted errors rank above clean tasks; the CLI's JSON shape."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from converters.corpus import Entity, Sentence, encode_tags
from converters.tasks import tasks_from_sentences
from labeling_config import restaurant_config
from nerloop.cli import app
from quality.folds import assign_folds
from quality.label_issues import disagreement_score, entity_runs, entity_score, fuse_ranks, merge_probs, rank_sentences
from training.tiny import build_tiny_base_model

DISHES = ("pizza", "sushi", "tacos", "burgers", "noodles", "ramen")
PLACES = ("boston", "downtown", "brooklyn", "midtown", "chelsea")
CUISINES = ("italian", "thai", "mexican", "korean")
PLANTED = (5, 23, 41, 77)  # task ids (1-based) whose dish is labelled Location


def corpus(count: int = 128) -> list[Sentence]:
    """Regular queries a tiny model learns in a few epochs: '<cuisine> <dish> in <place>' and variants."""
    rng = random.Random(0)
    sentences = []
    for i in range(count):
        dish, place, cuisine = rng.choice(DISHES), rng.choice(PLACES), rng.choice(CUISINES)
        if i % 2:
            words, ents = ["i", "want", dish, "in", place], [Entity("Dish", 2, 3), Entity("Location", 4, 5)]
        else:
            words, ents = [cuisine, dish, "near", place], [Entity("Cuisine", 0, 1), Entity("Dish", 1, 2),
                                                             Entity("Location", 3, 4)]
        if i + 1 in PLANTED:
            ents = [Entity("Location", e.start, e.end) if e.label == "Dish" else e for e in ents]
        sentences.append(Sentence(tuple(words), encode_tags(len(words), ents)))
    return sentences


@pytest.fixture
def export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    sentences = corpus()
    tasks = tasks_from_sentences(sentences, restaurant_config(), as_="annotations")
    for i, task in enumerate(tasks):
        task["id"] = i + 1
        task["annotations"][0].update({"id": 100 + i, "completed_by": 1 + i % 2})
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    base = build_tiny_base_model(tmp_path / "base", [w for s in sentences for w in s.tokens])
    for key, value in {"BASE_MODEL": str(base), "EPOCHS": "16", "LEARNING_RATE": "0.005", "BATCH_SIZE": "8",
                       "WARMUP_RATIO": "0", "NUM_THREADS": "1", "DEVICE": "cpu"}.items():
        monkeypatch.setenv(f"NERLOOP_TRAIN__{key}", value)
    monkeypatch.setenv("NERLOOP_WORK_DIR", str(tmp_path / "work"))
    return path


def test_planted_errors_rank_above_clean_tasks(export: Path) -> None:
    result = CliRunner().invoke(app, ["audit", "--export", str(export), "--folds", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert "this will take about" in result.stderr
    found = json.loads(result.stdout)
    issues = found["issues"]
    assert sorted(i["task"] for i in issues[: len(PLANTED)]) == list(PLANTED), [(i["task"], i["text"]) for i in issues]
    assert [i["score"] for i in issues] == sorted(i["score"] for i in issues)
    first = issues[0]
    assert {"task", "score", "annotation", "annotator", "words", "annotated_spans", "suggested_spans",
            "link"} <= set(first)
    assert first["annotation"] == 100 + first["task"] - 1 and first["annotator"] == 1 + (first["task"] - 1) % 2
    [word] = [w for w in first["words"] if w["annotated"] == "Location" and w["suggested"] == "Dish"]
    assert word["word"] in DISHES
    assert [s["label"] for s in first["suggested_spans"]].count("Dish") == 1
    assert first["link"] is None  # an export file: no Label Studio to link to
    assert found["folds"] == 2 and found["sentences"] == len({s.tokens for s in corpus()})  # repeated texts count once

    table = CliRunner().invoke(app, ["audit", "--export", str(export), "--folds", "2", "--top", "1"])
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[-2].startswith(f"1 suspect task(s) of {found['sentences']} (2 folds, ")
    assert lines[-1].startswith(f"{first['score']:.3f}  task {first['task']} (annotation {first['annotation']} by ")
    assert f"{word['word']!r} Location -> Dish" in lines[-1]


def test_folds_are_seeded_and_balanced() -> None:
    folds = assign_folds(11, 3, seed=4)
    assert folds == assign_folds(11, 3, seed=4)
    assert sorted(folds.count(f) for f in range(3)) == [3, 4, 4]


def test_scoring_merges_begin_and_inside_and_ignores_words_outside_entities() -> None:
    config = restaurant_config()
    tags = config.tags
    sentence = Sentence(("cheap", "pizza", "here"), ("O", "B-Dish", "O"))
    probs = np.full((3, len(tags)), 1e-3)
    probs[0, tags.index("O")] = 0.55  # an unsure background word: not what decides the score
    probs[0, tags.index("B-Price")] = 0.40
    probs[1, tags.index("B-Dish")] = 0.5  # B/I split: the Dish type has 0.95
    probs[1, tags.index("I-Dish")] = 0.45
    probs[2, tags.index("O")] = 0.99
    probs /= probs.sum(axis=1, keepdims=True)
    merged = merge_probs(probs, config)
    assert merged.shape == (3, 1 + len(config.labels)) and merged[1, 3] > 0.95
    [quality] = rank_sentences([sentence], [probs], config, scoring="entities")
    assert quality.score == pytest.approx(merged[1, 3])  # the Dish word, not the unsure 'cheap'
    [everything] = rank_sentences([sentence], [probs], config, scoring="all")
    assert everything.score == pytest.approx(merged[0, 0])


def test_cli_audit_needs_a_project_to_publish(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["audit", "--export", str(tmp_path / "x.json"), "--publish"])
    assert result.exit_code == 1
    assert result.output == "error: --publish needs --project (pass the project the export came from)\n"




def test_an_entity_scores_the_mean_of_its_words_and_the_weakest_entity_scores_the_sentence() -> None:
    scores = np.array([0.9, 0.2, 0.9, 0.99, 0.3])
    given = np.array([2, 2, 2, 0, 0])  # one three-word entity, then O O
    predicted = np.array([2, 2, 2, 0, 5])  # the model also sees an entity in the last word
    assert entity_runs(given) == [(0, 3)] and entity_runs(np.array([1, 1, 2, 0, 2])) == [(0, 2), (2, 3), (4, 5)]
    assert entity_score(scores, given, given) == pytest.approx((0.9 + 0.2 + 0.9) / 3)
    assert entity_score(scores, given, predicted) == pytest.approx(0.3)  # the word the annotation calls O
    assert entity_score(scores, np.zeros(5, int), np.zeros(5, int)) == 1.0


def test_a_predicted_entity_scores_only_the_words_the_annotation_labels_differently() -> None:
    scores = np.array([0.9, 0.8, 0.1, 0.99])
    given = np.array([2, 2, 0, 0])  # a Dish cut short: its last word annotated O
    predicted = np.array([2, 2, 2, 0])
    assert disagreement_score(scores, given, predicted) == pytest.approx(0.1)  # not the whole run's mean 0.6
    assert entity_score(scores, given, predicted) == pytest.approx(0.6)
    assert disagreement_score(scores, given, given) == pytest.approx(0.85)
    assert disagreement_score(scores, np.zeros(4, int), np.zeros(4, int)) == 1.0


def test_fused_ranking_takes_the_more_suspicious_view_and_breaks_ties_by_the_other() -> None:
    plain = [0.9, 0.1, 0.5, 0.7]  # ranks 4 1 2 3
    adjusted = [0.2, 0.8, 0.6, 0.1]  # ranks 2 4 3 1
    # smaller ranks 2 1 2 1; ties broken by the sums 6 5 5 4: item 3, item 1, item 2, item 0
    assert fuse_ranks(plain, adjusted).tolist() == [0.75, 0.25, 0.5, 0.0]
