"""Load a round's model for serving: the backend's settings turned into ``inference.loader.load_classifier``
arguments (the window comes from the round itself, see ``inference.windows``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from backend.settings import BackendSettings
from inference.classifier import TokenClassifier
from inference.loader import load_classifier

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


def load_model(model_dir: str | Path, version: str, settings: BackendSettings) -> LoadedModel:
    """Load ``model_dir`` with the backend's runtime, threads and batch size; warm it up once."""
    import torch

    torch.set_num_threads(settings.threads)
    classifier = load_classifier(model_dir, runtime=settings.runtime, threads=settings.threads,
                                 batch_size=settings.batch_size, onnx_quantize=settings.onnx_quantize,
                                 single_thread_below=settings.single_thread_below)
    log.info("serving %s (%s)", version, settings.runtime)
    return LoadedModel(version, classifier, settings.runtime)
