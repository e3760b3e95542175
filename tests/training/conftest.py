"""Shared fixtures: a tiny random BERT built locally, small MIT Restaurant splits, fast settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from converters.corpus import Sentence, read_tsv, write_tsv
from labeling_config import LabelConfig, restaurant_config
from nerloop.demo import MIT_DIR
from store.settings import TrainSettings
from training.tiny import build_tiny_base_model

MIT = MIT_DIR


@pytest.fixture(scope="session")
def config() -> LabelConfig:
    return restaurant_config()


@pytest.fixture(scope="session")
def mit_sample() -> list[Sentence]:
    """The first 200 training sentences of MIT Restaurant."""
    return read_tsv(MIT / "train.bio")[:200]


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory, mit_sample: list[Sentence]) -> Path:
    words = [w for s in read_tsv(MIT / "train.bio")[:400] for w in s.tokens]
    return build_tiny_base_model(tmp_path_factory.mktemp("tiny") / "base", words)


@pytest.fixture(scope="session")
def splits_dir(tmp_path_factory: pytest.TempPathFactory, mit_sample: list[Sentence]) -> Path:
    """train 40 / validation 10 / test 10 sentences: enough for plumbing tests (not for learning)."""
    folder = tmp_path_factory.mktemp("splits")
    write_tsv(folder / "train.tsv", mit_sample[:40])
    write_tsv(folder / "validation.tsv", mit_sample[40:50])
    write_tsv(folder / "test.tsv", mit_sample[50:60])
    return folder


@pytest.fixture
def fast_settings(tiny_base: Path) -> TrainSettings:
    return TrainSettings(base_model=str(tiny_base), epochs=1, learning_rate=3e-3, batch_size=8, warmup_ratio=0.0,
                         device="cpu", num_threads=1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ddp: runs a two-process torchrun (gloo, CPU) round, about 30 s")
