"""The training schedule's switches, both off by default: batches of texts of similar length, and the base model's
word-piece embeddings left as they are (no gradient, no optimizer state) while every other weight learns."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from converters.corpus import Sentence
from labeling_config import LabelConfig
from store.settings import TrainSettings
from training.device import select_device
from training.fine_tune import _training_arguments, fine_tune

EMBEDDINGS = "bert.embeddings.word_embeddings.weight"
QUERY = "bert.encoder.layer.0.attention.self.query.weight"


def base_weight(tiny_base: Path, name: str) -> torch.Tensor:
    """A weight of the saved base model (a BertModel: its names lack the ``bert.`` prefix)."""
    return load_file(tiny_base / "model.safetensors")[name.removeprefix("bert.")]


def test_batches_group_texts_of_similar_length_when_asked(tmp_path: Path) -> None:
    device = select_device("cpu", num_threads=1)
    grouped = _training_arguments(TrainSettings(length_grouped=True), device, tmp_path)
    plain = _training_arguments(TrainSettings(), device, tmp_path)
    assert (grouped.train_sampling_strategy, plain.train_sampling_strategy) == ("group_by_length", "random")


def trained_weights(settings: TrainSettings, tiny_base: Path, sample: list[Sentence], config: LabelConfig,
                    folder: Path) -> dict[str, torch.Tensor]:
    result = fine_tune(sample, sample[:10], config=config, settings=settings, output_dir=folder,
                       base_source=str(tiny_base))
    return load_file(result.model_dir / "model.safetensors")


def test_frozen_word_embeddings_stay_the_base_models_and_the_rest_learns(tmp_path: Path, tiny_base: Path,
                                                                   config: LabelConfig, mit_sample: list[Sentence],
                                                                   fast_settings: TrainSettings) -> None:
    frozen = trained_weights(fast_settings.model_copy(update={"freeze_word_embeddings": True}), tiny_base,
                             mit_sample[:40], config, tmp_path / "frozen")
    assert torch.equal(frozen[EMBEDDINGS], base_weight(tiny_base, EMBEDDINGS))
    assert not torch.equal(frozen[QUERY], base_weight(tiny_base, QUERY))

    free = trained_weights(fast_settings, tiny_base, mit_sample[:40], config, tmp_path / "free")
    assert not torch.equal(free[EMBEDDINGS], base_weight(tiny_base, EMBEDDINGS))


def test_bf16_rounds_train_under_autocast_and_save_fp32_weights(tmp_path: Path, tiny_base: Path,
                                                                config: LabelConfig, mit_sample: list[Sentence],
                                                                fast_settings: TrainSettings) -> None:
    settings = fast_settings.model_copy(update={"precision": "bf16", "device": "cpu"})
    device = select_device("cpu", num_threads=1, precision="bf16")
    assert _training_arguments(settings, device, tmp_path).bf16
    weights = trained_weights(settings, tiny_base, mit_sample[:40], config, tmp_path / "bf16")
    assert {tensor.dtype for tensor in weights.values()} == {torch.float32}  # autocast: fp32 master weights
    assert not torch.equal(weights[QUERY], base_weight(tiny_base, QUERY))


def test_new_rounds_train_with_a_64_sub_token_window() -> None:
    assert (TrainSettings().max_length, TrainSettings().stride) == (64, 32)
