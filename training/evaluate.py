"""Tag sentences with a trained model (batched, length-sorted, first sub-token per word) and score them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from converters.corpus import Sentence
from labeling_config.config import LabelConfig
from labeling_config.errors import TrainingError
from training.alignment import first_subtoken_positions
from training.metrics import Evaluation, score_predictions

log = logging.getLogger(__name__)


def load_model(model_dir: str | Path, device: str | None = None) -> tuple[Any, Any]:
    """A saved round's model (eval mode, on ``device`` or CUDA when present) and its tokenizer."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise TrainingError("no model here (config.json missing)", where=str(model_dir),
                            hint="pass a round name, 'current', or a folder written by `nerloop train`")
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, use_fast=True)
        model = AutoModelForTokenClassification.from_pretrained(model_dir)
    except (OSError, ValueError) as exc:
        raise TrainingError(f"cannot load the model ({exc})", where=str(model_dir),
                            hint="the folder must hold config.json, model.safetensors and tokenizer files") from exc
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return model.to(device).eval(), tokenizer


def predict_tags(model: Any, tokenizer: Any, sentences: Sequence[Sentence], *, batch_size: int = 32,
                 max_length: int = 128) -> list[tuple[str, ...]]:
    """One predicted tag per word: the label of the word's first sub-token (``O`` for words cut by truncation)."""
    import torch

    id2label = {int(k): v for k, v in model.config.id2label.items()}
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i].tokens))
    predictions: list[tuple[str, ...]] = [()] * len(sentences)
    for start in range(0, len(order), batch_size):
        batch = [sentences[i] for i in order[start:start + batch_size]]
        encoding = tokenizer([list(s.tokens) for s in batch], is_split_into_words=True, truncation=True,
                             max_length=max_length, padding=True, return_tensors="pt")
        with torch.inference_mode():
            logits = model(**{k: v.to(model.device) for k, v in encoding.items()}).logits
        best = logits.argmax(-1).cpu().tolist()
        for row, (index, sentence) in enumerate(zip(order[start:start + batch_size], batch, strict=True)):
            positions = first_subtoken_positions(encoding.word_ids(row))
            predictions[index] = tuple(id2label[best[row][positions[w]]] if w in positions else "O"
                                       for w in range(len(sentence.tokens)))
    return predictions


def model_labels(model: Any) -> list[str]:
    """Entity types the model can predict, from its ``id2label``."""
    tags = {str(v) for v in model.config.id2label.values()}
    return sorted({t[2:] for t in tags if t[:2] in ("B-", "I-")})


def evaluate_model(model_dir: str | Path, sentences: Sequence[Sentence], config: LabelConfig | None = None, *,
                   batch_size: int = 32, device: str | None = None) -> Evaluation:
    """Tag ``sentences`` with the model in ``model_dir`` and score them (seqeval strict IOB2).

    ``config``: the label set to report on (defaults to the model's own labels); a model trained for another
    label set is refused rather than scored as if its ids meant the same labels.
    """
    if not sentences:
        raise TrainingError("no sentences to evaluate", hint="pass a split with at least one sentence")
    model, tokenizer = load_model(model_dir, device)
    labels = model_labels(model)
    if config is not None:
        expected = dict(config.id2tag)
        found = {int(k): v for k, v in model.config.id2label.items()}
        if found != expected:
            raise TrainingError(f"the model's labels {sorted(set(labels))} do not match the config's "
                                f"{sorted(config.labels)}", where=str(model_dir),
                                hint="evaluate with the config the round was trained with")
        labels = sorted(config.labels)
    log.info("evaluating %s on %d sentences", model_dir, len(sentences))
    predicted = predict_tags(model, tokenizer, sentences, batch_size=batch_size)
    return score_predictions(sentences, predicted, labels)
