"""A model trained on long documents learns: MIT sentences joined into documents far longer than the window, a tiny
random BERT trained on their windows, scored on the documents through the inference core."""

from __future__ import annotations

from pathlib import Path

from converters.corpus import Sentence
from labeling_config import LabelConfig
from store.settings import TrainSettings
from training.evaluate import evaluate_model
from training.fine_tune import fine_tune


def documents(sentences: list[Sentence], per_document: int) -> list[Sentence]:
    groups = [sentences[i:i + per_document] for i in range(0, len(sentences), per_document)]
    return [Sentence(sum((s.tokens for s in g), ()), sum((s.tags for s in g), ()), f"document {n}")
            for n, g in enumerate(groups)]


def test_training_on_documents_longer_than_the_window_learns(tmp_path: Path, tiny_base: Path, config: LabelConfig,
                                                             mit_sample: list[Sentence]) -> None:
    docs = documents(mit_sample, 10)  # 20 documents of about 90 words; the window holds 30 sub-tokens
    settings = TrainSettings(base_model=str(tiny_base), epochs=2, learning_rate=5e-3, batch_size=4,
                             warmup_ratio=0.0, device="cpu", num_threads=1, max_length=32, stride=8)
    result = fine_tune(docs, docs[:4], config=config, settings=settings, output_dir=tmp_path,
                       base_source=str(tiny_base))
    assert result.windows is not None
    assert result.windows.windowed == result.windows.texts == 20
    assert result.windows.windows > 60  # at least 3 windows per document
    assert (result.model_dir / "window.json").read_text() == '{"max_length": 32, "stride": 8}\n'
    evaluation = evaluate_model(result.model_dir, docs, config)  # windowed like serving: every word scored
    assert evaluation.micro.f1 >= 0.4  # measured 0.53; chance (untrained head) is below 0.05, see test_learning.py
