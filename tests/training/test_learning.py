"""A real learning check: a tiny random BERT fine-tuned for two epochs on 200 MIT sentences must tag them well
above chance, where chance is measured: the same model with its untrained classification head."""

from __future__ import annotations

from pathlib import Path

from converters.corpus import Sentence
from labeling_config import LabelConfig
from store.settings import TrainSettings
from training.evaluate import evaluate_model
from training.fine_tune import TrainEvent, fine_tune


def untrained_f1(tiny_base: Path, config: LabelConfig, sentences: list[Sentence], folder: Path) -> float:
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    model = AutoModelForTokenClassification.from_pretrained(tiny_base, num_labels=len(config.tags),
                                                            id2label=config.id2tag, label2id=config.tag2id)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_base).save_pretrained(folder)
    return evaluate_model(folder, sentences, config).micro.f1


def test_fine_tuning_learns_the_sample(tmp_path: Path, tiny_base: Path, config: LabelConfig,
                                       mit_sample: list[Sentence]) -> None:
    events: list[TrainEvent] = []
    settings = TrainSettings(base_model=str(tiny_base), epochs=2, learning_rate=5e-3, batch_size=4,
                             warmup_ratio=0.0, device="cpu", num_threads=1)
    result = fine_tune(mit_sample, mit_sample[:40], config=config, settings=settings, output_dir=tmp_path,
                       base_source=str(tiny_base), progress=events.append)
    evaluation = evaluate_model(result.model_dir, mit_sample, config)
    chance = untrained_f1(tiny_base, config, mit_sample, tmp_path / "untrained")
    assert chance < 0.05
    assert evaluation.micro.f1 >= 0.5  # measured 0.65 after two epochs
    assert result.best_f1 is not None and result.best_f1 >= 0.3  # 40 sentences of validation: noisier
    assert result.steps == 100  # 50 batches of 4 sentences * 2 epochs
    assert [e.kind for e in events if e.kind != "step"][:2] == ["start", "evaluate"]
    assert events[-1].kind == "end" and events[-1].step == 100
    assert sorted(p.name for p in result.model_dir.iterdir()) == [
        "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "window.json"]
    assert not (tmp_path / "checkpoints").exists()
