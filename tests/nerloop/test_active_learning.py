"""The simulated annotator (nerloop.active_learning) and bench/active.py end to end on a tiny model: every strategy
starts from the same seeded seed set, adds exactly its batch of sentences it had not labelled, and is scored on the
whole test split; the bench writes its rounds, its summary and its plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.active import main as bench_main
from converters.corpus import Sentence, read_tsv
from labeling_config import LabelConfig, restaurant_config
from nerloop.active_learning import label_sizes, simulate
from nerloop.demo import MIT_DIR
from store.settings import TrainSettings
from training.base_model import resolve_base_model
from training.tiny import build_tiny_base_model


@pytest.fixture(scope="module")
def config() -> LabelConfig:
    return restaurant_config()


@pytest.fixture(scope="module")
def mit_sample() -> list[Sentence]:
    return read_tsv(MIT_DIR / "train.bio")[:200]


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    words = [w for s in read_tsv(MIT_DIR / "train.bio")[:400] for w in s.tokens]
    return build_tiny_base_model(tmp_path_factory.mktemp("tiny") / "base", words)


def test_label_sizes_grow_by_the_batch_until_the_share_of_the_pool() -> None:
    assert label_sizes(7660, seed_size=150, batch=510, until=0.35) == [150, 660, 1170, 1680, 2190, 2700]
    assert label_sizes(100, seed_size=10, batch=40, until=1.0) == [10, 50, 90, 100]


def test_a_simulation_labels_batches_chosen_by_the_strategy(tiny_base, mit_sample, config) -> None:
    strategy = "bald_per_token"  # dropout draws, then per word
    settings = TrainSettings(base_model=str(tiny_base), epochs=1, learning_rate=3e-3, batch_size=8,
                             warmup_ratio=0.0, device="cpu", num_threads=1)
    pool, test = mit_sample[:60], mit_sample[150:170]
    rounds = simulate(pool, test, config=config, settings=settings, base_source=resolve_base_model(str(tiny_base)),
                      strategy=strategy, seed=5, sizes=[12, 24, 36], candidates=30, draws=3, warm_start=True)
    assert [(r.round, r.sentences, r.strategy, r.seed, r.warm_start) for r in rounds] == [
        (0, 12, strategy, 5, False), (1, 24, strategy, 5, True), (2, 36, strategy, 5, True)]  # from the last round
    assert all(0.0 <= r.f1 <= 1.0 and r.train_seconds > 0 for r in rounds)
    assert rounds[-1].select_seconds == 0.0
    assert rounds[0].words < rounds[1].words < rounds[2].words


def test_the_bench_runs_end_to_end_and_summarizes(tiny_base, tmp_path: Path) -> None:
    out = tmp_path / "active.json"
    report = bench_main(["--base-model", str(tiny_base), "--limit", "40", "--test-limit", "12", "--seed-size", "8",
                         "--batch", "8", "--until", "0.5", "--epochs", "1", "--seeds", "2", "--candidates", "20",
                         "--strategies", "random,mnlp", "--then-per-token", "--per-token-seeds", "1",
                         "--reference-seeds", "1", "--workers", "1", "--out", str(out),
                         "--plot", str(tmp_path / "active.png")])
    assert report["sizes"] == [8, 16, 24]
    assert sorted(report["curves"]) == ["mnlp", "mnlp_per_token", "random"]
    assert [p["sentences"] for p in report["curves"]["mnlp"]["points"]] == [8, 16, 24]
    assert report["curves"]["mnlp"]["seeds"] == [1, 2] and report["curves"]["mnlp_per_token"]["seeds"] == [1]
    assert len(report["reference"]["f1_by_seed"]) == 1
    assert report["curves"]["mnlp"]["area_over_random"]["seeds"] == 2
    assert report["best"] in ("mnlp", "mnlp_per_token")
    rows = [json.loads(line) for line in out.with_suffix(".rounds.jsonl").read_text().splitlines()]
    assert len(rows) == 1 + 3 * 2 * 2 + 3  # the reference, random and mnlp for 2 seeds, the variant for 1
    first = {(r["strategy"], r["seed"]): (r["words"], r["f1"]) for r in rows if r["round"] == 0}
    assert first[("random", 1)] == first[("mnlp", 1)] == first[("mnlp_per_token", 1)]  # one seed set per seed
    assert first[("random", 2)] == first[("mnlp", 2)] != first[("random", 1)]
    assert (tmp_path / "active.png").stat().st_size > 10_000
    again = bench_main(["--base-model", str(tiny_base), "--limit", "40", "--test-limit", "12", "--seed-size", "8",
                        "--batch", "8", "--until", "0.5", "--epochs", "1", "--seeds", "2", "--candidates", "20",
                        "--strategies", "random,mnlp", "--reference-seeds", "1", "--workers", "1",
                        "--out", str(out)])
    assert again["curves"]["mnlp"] == report["curves"]["mnlp"]  # nothing ran again: every job was in the log
    assert len(out.with_suffix(".rounds.jsonl").read_text().splitlines()) == len(rows)
    out.write_text(json.dumps({"wall_seconds": 12.5}), encoding="utf-8")
    summary = bench_main(["--limit", "40", "--test-limit", "12", "--seed-size", "8", "--batch", "8", "--until", "0.5",
                          "--seeds", "2", "--report-only", "--out", str(out)])
    assert summary["curves"] == report["curves"] and summary["wall_seconds"] == 12.5  # the log alone, run's time kept
    assert summary["targets_by_strategy"]["mnlp"]["best"] == "mnlp"
