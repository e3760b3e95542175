"""Seeded splits grouped by text, the fixed test file, and the files write_splits leaves behind."""

from __future__ import annotations

import json

import pytest

from converters.corpus import Sentence, read_tsv
from converters.export import read_export
from converters.report import RULES
from converters.split import make_splits, write_splits
from labeling_config import RESTAURANT_CONFIG
from labeling_config.errors import ConversionError, InputFormatError
from tests.converters.converter_helpers import FIXTURES, MIT, annotation, region, task, write_json
from tests.converters.studio_reference import studio_conll


def corpus(n: int) -> list[Sentence]:
    return [Sentence((f"w{i}", "food"), ("B-Dish", "O"), f"task {i}") for i in range(n)]


def test_default_ratios_are_80_10_10_and_reproducible():
    splits = make_splits(corpus(100), seed=3)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (80, 10, 10)
    assert splits == make_splits(corpus(100), seed=3)
    assert splits.train != make_splits(corpus(100), seed=4).train
    assert sorted(s.source for s in splits.train + splits.validation + splits.test) == sorted(
        s.source for s in corpus(100))


def test_ratios_are_configurable():
    splits = make_splits(corpus(10), ratios=(0.5, 0.3, 0.2))
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (5, 3, 2)


def test_every_split_asked_for_gets_a_sentence():
    splits = make_splits(corpus(7), seed=0)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (5, 1, 1)
    splits = make_splits(corpus(3), seed=0)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (1, 1, 1)
    splits = make_splits(corpus(4), seed=0, ratios=(0.9, 0.1, 0.0))
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (3, 1, 0)


def test_too_few_texts_for_the_splits_is_an_error():
    with pytest.raises(ConversionError) as info:
        make_splits([s for s in corpus(2) for _ in range(3)], seed=0)
    assert str(info.value) == ("2 distinct text(s) cannot fill 3 splits (annotate more tasks, or use ratios with "
                               "zeros (--ratios 1,0,0, or NERLOOP_SPLIT_RATIOS='[1,0,0]' for rounds))")


def test_copies_of_a_text_never_straddle_splits():
    doubled = [s for s in corpus(50) for _ in range(2)]
    for seed in range(5):
        splits = make_splits(doubled, seed=seed, ratios=(0.4, 0.3, 0.3))
        names = {}
        for name, items in splits.as_dict().items():
            for s in items:
                assert names.setdefault(s.tokens, name) == name


@pytest.mark.parametrize("ratios", [(0.8, 0.1), (0.8, 0.3, 0.1), (1.2, -0.1, -0.1)])
def test_bad_ratios(ratios):
    with pytest.raises(ConversionError) as info:
        make_splits(corpus(3), ratios=ratios)
    assert str(info.value) == (f"ratios {', '.join(map(str, ratios))} are not three non-negative numbers summing "
                               "to 1 (pass e.g. --ratios 0.8,0.1,0.1)")


def test_fixed_test_file_takes_the_test_split():
    test = corpus(3)
    splits = make_splits(corpus(23), test_sentences=test, ratios=(0.8, 0.2, 0.0))
    assert splits.test == tuple(test)
    assert (len(splits.train), len(splits.validation)) == (16, 4)
    assert [p.field for p in splits.problems] == ["task 0", "task 1", "task 2"]


def test_write_splits_writes_tsv_and_conversion_json(tmp_path, config):
    sentences, report = read_export(FIXTURES / "studio_export.json", config)
    test = read_tsv(MIT / "test.bio", tags=config.tags)
    paths = write_splits(make_splits(sentences, seed=0, test_sentences=test), tmp_path / "out", report)
    assert {name: p.name for name, p in paths.items()} == {
        "train": "train.tsv", "validation": "validation.tsv", "test": "test.tsv", "report": "conversion.json"}
    assert len(read_tsv(paths["test"])) == 1521
    back = read_tsv(paths["train"]) + read_tsv(paths["validation"])
    assert sorted(s.tokens for s in back) == sorted(s.tokens for s in sentences)
    data = json.loads(paths["report"].read_text(encoding="utf-8"))
    assert data["splits"]["train"]["sentences"] + data["splits"]["validation"]["sentences"] == 7
    assert data["splits"]["test"]["entities"]["Amenity"] == 533
    assert data["problem_counts"] == {"off_boundary": 1}
    assert data["problems"][0] == {"kind": "off_boundary", "task": 8, "annotation": 9, "field": "result[0].value",
                                   "what": "'pizza' [6:11] is not on token boundaries; tokens ['pizzas']",
                                   "rule": RULES["off_boundary"]}
    assert (data["tasks_read"], data["annotations_used"], data["sentences"]) == (9, 7, 7)


def test_ground_truth_policy_prefers_the_ground_truth_annotation(tmp_path, config):
    path = write_json(tmp_path / "e.json", [task(
        1, "thai food",
        annotation(1, region(0, 4, "thai", "Cuisine"), updated="2026-01-01T00:00:00Z", ground_truth=True),
        annotation(2, region(0, 9, "thai food", "Dish"), updated="2026-02-01T00:00:00Z"),
        annotation(3, updated="2026-03-01T00:00:00Z", cancelled=True))])
    tags = {policy: read_export(path, config, policy=policy)[0][0].tags
            for policy in ("newest", "oldest", "ground_truth")}
    assert tags == {"newest": ("B-Dish", "I-Dish"), "oldest": ("B-Cuisine", "O"), "ground_truth": ("B-Cuisine", "O")}


def test_newest_is_the_newest_created_annotation_as_in_label_studios_conll_export(tmp_path, config):
    """An older annotation edited after a newer one was created: ``newest`` still takes the newer one, which is
    the block Label Studio's CONLL2003 export writes first; ``last_edited`` takes the edited one."""
    tasks = [task(1, "thai food",
                  annotation(1, region(0, 4, "thai", "Cuisine"), created="2026-01-01T00:00:00Z",
                             updated="2026-03-01T00:00:00Z"),
                  annotation(2, region(0, 9, "thai food", "Dish"), created="2026-02-01T00:00:00Z",
                             updated="2026-02-01T00:00:00Z"))]
    path = write_json(tmp_path / "e.json", tasks)
    tags = {policy: read_export(path, config, policy=policy)[0][0].tags for policy in ("newest", "last_edited")}
    assert tags == {"newest": ("B-Dish", "I-Dish"), "last_edited": ("B-Cuisine", "O")}
    conll = studio_conll(tasks, RESTAURANT_CONFIG.read_text(encoding="utf-8"), tmp_path / "studio")
    assert read_export(conll, config)[0][0].tags == tags["newest"]


def test_conll_exports_take_only_the_newest_policy(config):
    with pytest.raises(InputFormatError) as info:
        read_export(FIXTURES / "studio_export.conll", config, policy="oldest")
    assert str(info.value) == (
        f"{FIXTURES / 'studio_export.conll'}: policy 'oldest' needs annotation dates, which a CONLL2003 export does "
        "not carry (its first block per task is the newest annotation) (export JSON or JSON_MIN for this policy, or "
        "use --policy newest)")
