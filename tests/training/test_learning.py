"""A real learning check: a tiny random BERT fine-tuned on 200 MIT sentences must tag them well above chance."""

from __future__ import annotations

from pathlib import Path

from converters.corpus import Sentence
from labeling_config import LabelConfig
from training.evaluate import evaluate_model
from training.fine_tune import TrainEvent, fine_tune
from training.settings import TrainSettings


def test_fine_tuning_learns_the_sample(tmp_path: Path, tiny_base: Path, config: LabelConfig,
                                       mit_sample: list[Sentence]) -> None:
    events: list[TrainEvent] = []
    settings = TrainSettings(base_model=str(tiny_base), epochs=8, learning_rate=5e-3, batch_size=16,
                             warmup_ratio=0.0, device="cpu", num_threads=1)
    result = fine_tune(mit_sample, mit_sample[:40], config=config, settings=settings, output_dir=tmp_path,
                       base_source=str(tiny_base), progress=events.append)
    evaluation = evaluate_model(result.model_dir, mit_sample, config)
    assert evaluation.micro.f1 >= 0.5  # chance is about 0: an untrained model predicts no correct entity
    assert result.best_f1 is not None and result.best_f1 >= 0.5
    assert result.steps == 104  # 13 batches of up to 16 sentences * 8 epochs
    assert [e.kind for e in events if e.kind != "step"][:2] == ["start", "evaluate"]
    assert events[-1].kind == "end" and events[-1].step == 104
    assert sorted(p.name for p in result.model_dir.iterdir()) == ["config.json", "model.safetensors",
                                                                  "tokenizer.json", "tokenizer_config.json"]
    assert not (tmp_path / "checkpoints").exists()
