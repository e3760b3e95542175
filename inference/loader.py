"""Load a saved token-classification model (a round's ``model/`` folder) into a ready ``TokenClassifier``.

The window (``max_length``, ``stride``) is the round's: read from ``window.json`` in the model folder, written by
training (``inference.windows.write_window_size``); a folder without one gets the default window (``core.window``).
Everything else (runtime, precision, device, threads, batch size) is a plain argument, so training's evaluation and
the backend load models the same way. ``load_round`` is a round loaded to serve (``LoadedRound``: its name, the
classifier, the runtime), as the backend and ``nerloop predict`` do.
The cyclic garbage collector is paused while a model loads (``inference.collector``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.errors import RegistryError
from inference.classifier import TokenClassifier
from inference.collector import collector_paused
from inference.runners import TorchRunner
from inference.windows import read_window_size

log = logging.getLogger(__name__)
# transformers resolves its names lazily on first use, and two threads doing that at once can fail ("cannot import
# name 'AutoConfig'"): the backend loads several projects' rounds at once after a start, so the import takes turns.
_IMPORT_LOCK = threading.Lock()


def load_classifier(model_dir: str | Path, *, runtime: Literal["torch", "onnx"] = "torch", device: str = "cpu",
                    threads: int | None = None, batch_size: int = 32, onnx_quantize: bool = False,
                    single_thread_below: int = 256, warm_up: bool = True,
                    precision: Literal["fp32", "bf16"] = "fp32", parallel: int = 1) -> TokenClassifier:
    """Read ``config.json`` (its ``id2label`` is the tag list), the fast tokenizer, the weights and the window.

    ``threads``: intra-op threads of one forward pass (torch and onnxruntime); None leaves torch's setting alone
    (onnxruntime: 1). ``parallel``: forward passes that may run at once (``TokenClassifier.parallel``).
    ``precision``: the torch runtime's forward pass (``inference.runners.TorchRunner``).
    Raises ``RegistryError`` naming the folder when it holds no usable model."""
    with collector_paused():
        return _load(Path(model_dir), runtime, device, threads, batch_size, onnx_quantize, single_thread_below,
                     warm_up, precision, parallel)


def _load(model_dir: Path, runtime: str, device: str, threads: int | None, batch_size: int, onnx_quantize: bool,
          single_thread_below: int, warm_up: bool, precision: str, parallel: int) -> TokenClassifier:
    with _IMPORT_LOCK:
        from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer

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
    if runtime == "onnx":
        from inference.onnx import OnnxRunner, onnx_path

        runner = OnnxRunner(onnx_path(model_dir, quantize=onnx_quantize), threads or 1)
    else:
        try:
            model = AutoModelForTokenClassification.from_pretrained(model_dir)
        except (OSError, ValueError) as exc:
            raise RegistryError(f"cannot load the model weights ({exc})", where=str(model_dir),
                                hint="the folder must hold config.json and model.safetensors") from exc
        runner = TorchRunner(model, threads, single_thread_below, device=device, precision=precision)
    window = read_window_size(model_dir)
    classifier = TokenClassifier(tokenizer, runner, id2label, max_length=window.max_length, stride=window.stride,
                                 batch_size=batch_size, parallel=parallel)
    if warm_up:
        classifier.score([["warm", "up"]])
    log.info("loaded %s (%s on %s, %d tags, window %d/%d)", model_dir,
             f"{runtime} {precision}" if runtime == "torch" else runtime, device, len(id2label),
             classifier.max_length, classifier.stride)
    return classifier


@dataclass(frozen=True)
class LoadedRound:
    """A round's model ready to predict: the round's name (the ``model_version`` its predictions carry), the
    classifier and the runtime it runs on."""

    version: str
    classifier: TokenClassifier
    runtime: str

    @property
    def labels(self) -> frozenset[str]:
        return frozenset(tag.partition("-")[2] for tag in self.classifier.tags if tag != "O")


def load_round(model_dir: str | Path, version: str, *, runtime: Literal["torch", "onnx"] = "torch",
               threads: int = 1, passes: int = 1, batch_size: int = 32, onnx_quantize: bool = False,
               single_thread_below: int = 256, precision: Literal["fp32", "bf16"] = "fp32") -> LoadedRound:
    """Load a round's ``model_dir`` to serve it as ``version`` on the CPU: ``passes`` forward passes at once
    sharing ``threads`` intra-op threads; warmed up once."""
    import torch

    passes = max(1, passes)
    per_pass = max(1, threads // passes)
    torch.set_num_threads(per_pass)
    classifier = load_classifier(model_dir, runtime=runtime, threads=per_pass, batch_size=batch_size,
                                 onnx_quantize=onnx_quantize, single_thread_below=single_thread_below,
                                 precision=precision, parallel=passes)
    log.info("serving %s (%s, %d pass(es) at once on %d thread(s) each)", version, runtime, passes, per_pass)
    return LoadedRound(version, classifier, runtime)
