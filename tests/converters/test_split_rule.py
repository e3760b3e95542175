"""Frozen splits by a hash of each text (a text once in test stays in test as the export grows), the fixed test
file, the files the split writer leaves behind, and the annotation policies. The splits are those the split writer
writes (converters/split_writer.py), read back."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from converters.conversion_report import RULES, Problem
from converters.corpus import Sentence, read_tsv
from converters.export import read_export
from converters.split_rule import SPLIT_NAMES, assign_split, text_digest
from converters.split_writer import stream_splits
from core.errors import ConversionError, InputFormatError
from labeling_config import RESTAURANT_CONFIG
from tests.converters.converter_helpers import (
    FIXTURES,
    MIT,
    WrittenSplits,
    annotation,
    region,
    split_sentences,
    task,
    write_json,
)
from tests.converters.studio_reference import studio_conll


def corpus(n: int, start: int = 0) -> list[Sentence]:
    return [Sentence((f"w{i}", "food"), ("B-Dish", "O"), f"task {i}") for i in range(start, n)]


def split_of(splits: WrittenSplits) -> dict[tuple[str, ...], str]:
    """Each text's split; fails if copies of a text straddle splits."""
    names: dict[tuple[str, ...], str] = {}
    for name, items in splits.as_dict().items():
        for s in items:
            assert names.setdefault(s.tokens, name) == name, s.tokens
    return names


# The rule is a contract (converters/split_rule.py): these literal placements must never change.
FROZEN = [
    (("thai", "food"), "nerloop", (0.8, 0.1, 0.1), "train"),
    (("sushi", "pizza"), "nerloop", (0.8, 0.1, 0.1), "test"),
    (("sushi", "dim"), "nerloop", (0.8, 0.1, 0.1), "validation"),
    (("a",), "nerloop", (0.8, 0.1, 0.1), "validation"),
    (("a",), "project-7", (0.8, 0.1, 0.1), "train"),
    (("Zürich", "café"), "nerloop", (0.8, 0.1, 0.1), "train"),
    (("Zürich", "café"), "nerloop", (0.5, 0.5, 0.0), "validation"),
    (("thai", "food"), "nerloop", (0.1, 0.1, 0.8), "validation"),
    (("sushi", "ramen"), "nerloop", (0.9, 0.1, 0.0), "validation"),
]


@pytest.mark.parametrize(("tokens", "salt", "ratios", "expected"), FROZEN)
def test_the_hash_rule_is_frozen(tokens, salt, ratios, expected):
    assert assign_split(tokens, salt, ratios) == expected


def test_the_digest_is_sha256_of_salt_and_tokens_joined_by_newlines():
    # printf 'nerloop\nthai\nfood' | sha256sum
    assert text_digest(("thai", "food"), "nerloop").hex() == (
        "27e0deb6813c399d1b65986454fd4d52fd38e2fdd5f8d0ef94727e522a3fd2f9")
    assert text_digest(("Zürich", "café"), "nerloop").hex().startswith("9f48f5e2970107c2")
    # u = first 8 bytes / 2**64 = 0.1558 for 'thai food': train below 0.8, validation in [0.1, 0.2)
    assert assign_split(("thai", "food"), "nerloop", (0.15, 0.01, 0.84)) == "validation"
    assert assign_split(("thai", "food"), "nerloop", (0.16, 0.01, 0.83)) == "train"


def test_a_text_is_placed_by_its_hash_alone():
    splits = split_sentences(corpus(100))
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (85, 6, 9)
    assert (splits.salt, splits.ratios, splits.problems) == ("nerloop", (0.8, 0.1, 0.1), ())
    assert split_of(split_sentences(corpus(100)[::-1])) == split_of(splits)  # the order of the export does not matter
    assert all(assign_split(tokens) == name for tokens, name in split_of(splits).items())
    assert splits.test == tuple(s for s in corpus(100) if s in splits.test)  # each split keeps the input order
    assert sorted(s.source for s in splits.train + splits.validation + splits.test) == sorted(
        s.source for s in corpus(100))


def test_ratios_are_configurable():
    splits = split_sentences(corpus(100), ratios=(0.5, 0.3, 0.2))
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (62, 23, 15)


@pytest.mark.parametrize("salt", ["nerloop", "project-1", "project-2"])
def test_ratios_hold_within_statistical_tolerance(salt):
    texts = [(f"word{i}", f"other{i * 7}") for i in range(5000)]
    counts = {name: 0 for name in SPLIT_NAMES}
    for tokens in texts:
        counts[assign_split(tokens, salt, (0.7, 0.2, 0.1))] += 1
    # binomial standard deviations: 32, 28, 21; allow four
    assert abs(counts["train"] - 3500) < 130
    assert abs(counts["validation"] - 1000) < 115
    assert abs(counts["test"] - 500) < 85


def test_growing_export_keeps_every_earlier_test_and_validation_text():
    """The issue's case: a 2,000-task export, then a 4,000-task export that contains it."""
    first = split_sentences(corpus(2000))
    second = split_sentences(corpus(4000, 2000) + corpus(2000)[::-1])
    before, after = split_of(first), split_of(second)
    assert (len(first.test), len(second.test)) == (212, 393)
    assert {tokens: after[tokens] for tokens in before} == before
    assert {s.tokens for s in first.test} <= {s.tokens for s in second.test}
    assert not {s.tokens for s in first.test} & {s.tokens for s in second.train + second.validation}
    assert not {s.tokens for s in first.validation} & {s.tokens for s in second.train + second.test}


texts = st.lists(st.lists(st.text("abcxyz", min_size=1, max_size=4), min_size=1, max_size=3).map(tuple),
                 min_size=1, max_size=80, unique=True)


@settings(max_examples=60, deadline=None)
@given(texts=texts, cut=st.integers(0, 80), salt=st.text(max_size=8), copies=st.integers(1, 3))
def test_growing_export_property(texts, cut, salt, copies):
    """Any export, then any export that contains it: every text keeps its split (unless the first export was so
    small that a split had to be filled, which the report says)."""
    sentences = [Sentence(tokens, ("O",) * len(tokens), f"task {i}") for i, tokens in enumerate(texts)]
    first = sentences[:cut] * copies
    assume(len({s.tokens for s in first}) >= 3)
    small = split_sentences(first, salt=salt, ratios=(0.6, 0.2, 0.2))
    big = split_sentences(sentences + first, salt=salt, ratios=(0.6, 0.2, 0.2))
    before, after = split_of(small), split_of(big)
    filled = {p.field for p in small.problems + big.problems}
    assert {p.kind for p in small.problems + big.problems} <= {"split_filled"}
    moved = {s.tokens for s in sentences if s.source in filled}
    assert {t: after[t] for t in before if t not in moved} == {t: n for t, n in before.items() if t not in moved}
    if not small.problems:
        assert not big.problems
        assert {t: after[t] for t in before} == before


def test_copies_of_a_text_never_straddle_splits():
    doubled = [s for s in corpus(50) for _ in range(2)]
    for salt in ("a", "b", "c"):
        splits = split_sentences(doubled, salt=salt, ratios=(0.4, 0.3, 0.3))
        assert len(split_of(splits)) == 50
        assert len(splits.train + splits.validation + splits.test) == 100


def test_copies_with_different_tags_share_a_split():
    a = Sentence(("thai", "food"), ("B-Cuisine", "O"), "task 1")
    b = Sentence(("thai", "food"), ("B-Dish", "I-Dish"), "task 2")
    splits = split_sentences([a, b, *corpus(30)])
    assert next(part for part in splits.as_dict().values() if a in part).count(b) == 1


def test_different_salts_give_different_splits():
    one, other = split_of(split_sentences(corpus(200), salt="project-1")), split_of(split_sentences(corpus(200),
                                                                                             salt="project-2"))
    assert {t for t, n in one.items() if n == "test"} != {t for t, n in other.items() if n == "test"}
    assert sum(one[t] == other[t] for t in one) < 180  # about 0.8² + 2 · 0.1² = 66 % agree by chance


def test_every_split_asked_for_gets_a_sentence_and_each_move_is_reported():
    splits = split_sentences(corpus(7))
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (5, 1, 1)
    assert splits.problems == (Problem("split_filled", "'w3 food' moved from test to validation: the hash left "
                                       "validation empty (7 distinct texts)", field="task 3"),)
    assert splits.problems[0].rule == RULES["split_filled"]
    assert assign_split(("w3", "food")) == "test"
    splits = split_sentences(corpus(3))
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (1, 1, 1)
    assert [p.what for p in splits.problems] == [
        "'w1 food' moved from train to validation: the hash left validation empty (3 distinct texts)",
        "'w2 food' moved from train to test: the hash left test empty (3 distinct texts)"]
    splits = split_sentences(corpus(4), ratios=(0.9, 0.1, 0.0))
    assert (len(splits.train), len(splits.validation), len(splits.test), splits.problems) == (3, 1, 0, ())


def test_the_filled_split_takes_the_text_nearest_it():
    """Seven texts: the hash puts five in train and 'w3 food' (0.923), 'w5 food' (0.951) in test; validation
    [0.8, 0.9) takes 'w3 food', nearer than the highest train text 'w6 food' (0.735)."""
    points = [round(int.from_bytes(text_digest(s.tokens, "nerloop")[:8], "big") / 2 ** 64, 3) for s in corpus(7)]
    assert points == [0.2, 0.732, 0.419, 0.923, 0.484, 0.951, 0.735]
    splits = split_sentences(corpus(7))
    assert [s.source for s in splits.validation] == ["task 3"]
    assert [s.source for s in splits.test] == ["task 5"]


def test_too_few_texts_for_the_splits_is_an_error():
    with pytest.raises(ConversionError) as info:
        split_sentences([s for s in corpus(2) for _ in range(3)])
    assert str(info.value) == ("2 distinct text(s) cannot fill 3 splits (annotate more tasks, or use ratios with "
                               "zeros (--ratios 1,0,0, or NERLOOP_SPLIT_RATIOS='[1,0,0]' for rounds))")


@pytest.mark.parametrize("ratios", [(0.8, 0.1), (0.8, 0.3, 0.1), (1.2, -0.1, -0.1)])
def test_bad_ratios(ratios):
    with pytest.raises(ConversionError) as info:
        split_sentences(corpus(3), ratios=ratios)
    assert str(info.value) == (f"ratios {', '.join(map(str, ratios))} are not three non-negative numbers summing "
                               "to 1 (pass e.g. --ratios 0.8,0.1,0.1)")


def test_fixed_test_file_takes_the_test_split():
    test = corpus(3)
    splits = split_sentences(corpus(23), test_sentences=test, ratios=(0.8, 0.2, 0.0))
    assert splits.test == tuple(test)
    assert (len(splits.train), len(splits.validation)) == (17, 3)
    assert [p.field for p in splits.problems] == ["task 0", "task 1", "task 2"]
    # train/validation use the same hash with the ratios scaled to (0.8, 0.2, 0)
    assert all(assign_split(s.tokens, "nerloop", (0.8, 0.2, 0.0)) == "validation" for s in splits.validation)
    assert split_of(split_sentences(corpus(40), test_sentences=test, ratios=(0.4, 0.1, 0.5))) == {
        **split_of(split_sentences(corpus(40), test_sentences=test, ratios=(0.8, 0.2, 0.0))),
        **{s.tokens: "test" for s in test}}


def test_the_split_writer_writes_tsv_and_conversion_json(tmp_path, config):
    sentences, report = read_export(FIXTURES / "studio_export.json", config)
    test = read_tsv(MIT / "test.bio", tags=config.tags)
    paths = stream_splits(sentences, tmp_path / "out", report, salt="s1", test_sentences=test)
    assert {name: p.name for name, p in paths.items()} == {
        "train": "train.tsv", "validation": "validation.tsv", "test": "test.tsv", "report": "conversion.json"}
    assert len(read_tsv(paths["test"])) == 1521
    back = read_tsv(paths["train"]) + read_tsv(paths["validation"])
    assert sorted(s.tokens for s in back) == sorted(s.tokens for s in sentences)
    data = json.loads(paths["report"].read_text(encoding="utf-8"))
    assert data["splits"]["train"]["sentences"] + data["splits"]["validation"]["sentences"] == 7
    assert data["splits"]["test"]["entities"]["Amenity"] == 533
    assert data["split"] == {"rule": "sha256 of the salt and the tokens (converters/split.py)", "salt": "s1",
                             "ratios": [0.8, 0.1, 0.1]}
    assert data["problem_counts"] == {"off_boundary": 1, "split_filled": 1}  # 7 texts: validation was filled
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
