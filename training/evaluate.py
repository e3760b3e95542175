"""Tag sentences with a trained model and score them, through the inference core the backend serves with.

``evaluate_model`` loads the round's model with ``inference.loader.load_classifier`` (the round's own window from
``model/window.json``, the training device) and tags with ``TokenClassifier.tag``: long texts are windowed, never
truncated, and the tags are exactly the ones ``/predict`` turns into regions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from converters.corpus import Sentence
from core.errors import RegistryError, TrainingError
from inference.classifier import TokenClassifier
from inference.loader import load_classifier
from labeling_config.config import LabelConfig
from training.metrics import Evaluation, score_predictions

log = logging.getLogger(__name__)


def load_model(model_dir: str | Path, device: str | None = None, *, batch_size: int = 32) -> TokenClassifier:
    """A saved round's model as a ``TokenClassifier`` (on ``device``, or CUDA when present)."""
    import torch

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise TrainingError("no model here (config.json missing)", where=str(model_dir),
                            hint="pass a round name, 'current', or a folder written by `nerloop train`")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return load_classifier(model_dir, device=device, batch_size=batch_size, warm_up=False)
    except RegistryError as exc:
        raise TrainingError(exc.message, where=str(model_dir),
                            hint="the folder must hold config.json, model.safetensors and tokenizer files") from exc


def predict_tags(classifier: TokenClassifier, sentences: Sequence[Sentence]) -> list[tuple[str, ...]]:
    """One predicted tag per word (``TokenClassifier.tag``: the owning window's argmax; ``O`` for a word with no
    sub-token)."""
    return classifier.tag([list(s.tokens) for s in sentences])


def model_labels(classifier: TokenClassifier) -> list[str]:
    """Entity types the model can predict, from its tags."""
    return sorted({t[2:] for t in classifier.tags if t[:2] in ("B-", "I-")})


def evaluate_model(model_dir: str | Path, sentences: Sequence[Sentence], config: LabelConfig | None = None, *,
                   batch_size: int = 32, device: str | None = None) -> Evaluation:
    """Tag ``sentences`` with the model in ``model_dir`` and score them (seqeval strict IOB2).

    ``config``: the label set to report on (defaults to the model's own labels); a model trained for another
    label set is refused rather than scored as if its ids meant the same labels.
    """
    if not sentences:
        raise TrainingError("no sentences to evaluate", hint="pass a split with at least one sentence")
    classifier = load_model(model_dir, device, batch_size=batch_size)
    labels = model_labels(classifier)
    if config is not None:
        expected = dict(config.id2tag)
        found = dict(enumerate(classifier.tags))
        if found != expected:
            raise TrainingError(f"the model's labels {sorted(set(labels))} do not match the config's "
                                f"{sorted(config.labels)}", where=str(model_dir),
                                hint="evaluate with the config the round was trained with")
        labels = sorted(config.labels)
    log.info("evaluating %s on %d sentences (window %d, stride %d)", model_dir, len(sentences),
             classifier.max_length, classifier.stride)
    predicted = predict_tags(classifier, sentences)
    return score_predictions(sentences, predicted, labels)
