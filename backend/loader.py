"""Load a saved token-classification model (a round's ``model/`` folder) into a ready ``TokenClassifier``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.inference import TokenClassifier
from backend.settings import BackendSettings
from labeling_config.errors import RegistryError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to serve: the round name it came from and the classifier."""

    version: str
    classifier: TokenClassifier
    runtime: str

    @property
    def labels(self) -> frozenset[str]:
        return frozenset(tag.partition("-")[2] for tag in self.classifier.tags if tag != "O")


class TorchRunner:
    """A ``Runner`` over a PyTorch model in eval mode, under ``torch.inference_mode``.

    Small inputs (fewer than ``single_thread_below`` sub-tokens in the batch, e.g. one sentence) run on one
    intra-op thread: splitting a tiny matmul across cores buys nothing and, on a shared CPU, costs long tails.
    Calls are serialized by ``TokenClassifier``, so switching the process-wide thread count here is safe.
    """

    def __init__(self, model, threads: int, single_thread_below: int = 256) -> None:
        self.model = model.eval()
        self.threads = threads
        self.single_thread_below = single_thread_below

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        wanted = 1 if input_ids.size < self.single_thread_below else self.threads
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)
        with torch.inference_mode():
            out = self.model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention_mask))
        return out.logits.numpy()


def load_model(model_dir: str | Path, version: str, settings: BackendSettings) -> LoadedModel:
    """Read ``config.json`` (its ``id2label`` is the tag list), the tokenizer and the weights; warm it up once."""
    import torch
    from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer

    model_dir = Path(model_dir)
    torch.set_num_threads(settings.threads)
    try:
        config = AutoConfig.from_pretrained(model_dir)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
    except (OSError, ValueError) as exc:
        raise RegistryError(f"cannot load the model ({exc})", where=str(model_dir),
                            hint="the round folder needs model/ saved with save_pretrained") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise RegistryError("the tokenizer is not a fast tokenizer (word_ids are needed)", where=str(model_dir),
                            hint="save a tokenizer.json with the model")
    id2label = {int(k): v for k, v in config.id2label.items()}
    if settings.runtime == "onnx":
        from backend.onnx_runtime import OnnxRunner, onnx_path

        runner = OnnxRunner(onnx_path(model_dir, quantize=settings.onnx_quantize), settings.threads)
    else:
        runner = TorchRunner(AutoModelForTokenClassification.from_pretrained(model_dir), settings.threads,
                             settings.single_thread_below)
    classifier = TokenClassifier(tokenizer, runner, id2label, max_length=settings.max_length,
                                 stride=settings.stride, batch_size=settings.batch_size)
    classifier.score([["warm", "up"]])
    log.info("loaded %s (%s, %d tags) from %s", version, settings.runtime, len(id2label), model_dir)
    return LoadedModel(version, classifier, settings.runtime)
