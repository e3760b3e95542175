"""The ONNX Runtime path: export a round's model once, cache it in the round folder, run it with onnxruntime.

``model/model.onnx`` (and ``model/model.int8.onnx`` with dynamic int8 quantization) are written next to the
safetensors by the round itself before it is promoted (``nerloop round`` with ``NERLOOP_RUNTIME=onnx``), or else the
first time a round is served with ``runtime="onnx"``, through a temporary file and ``os.replace``
so two processes exporting at once never leave half a file. A read-only round folder falls back to a cache folder.
Needs ``pip install onnx onnxscript`` besides onnxruntime (the ``onnx`` extra).
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from core.errors import RegistryError

log = logging.getLogger(__name__)

OPSET = 17


def onnx_path(model_dir: Path, *, quantize: bool) -> Path:
    """Export (if not cached) and return the ONNX file of a saved token-classification model."""
    plain = model_dir / "model.onnx"
    target = model_dir / "model.int8.onnx" if quantize else plain
    if target.is_file():
        return target
    try:
        return _build(model_dir, plain, target, quantize)
    except PermissionError:
        flat = model_dir.resolve().as_posix().strip("/").replace("/", "_")
        cache = Path(tempfile.gettempdir()) / "nerloop-onnx" / flat
        cache.mkdir(parents=True, exist_ok=True)
        return _build(model_dir, cache / plain.name, cache / target.name, quantize)


def _build(model_dir: Path, plain: Path, target: Path, quantize: bool) -> Path:
    if not plain.is_file():
        export_onnx(model_dir, plain)
    if quantize and not target.is_file():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        # Per-channel weights with the 7-bit range: on MiniLM-L6/MIT, per-tensor int8 cost 1.24 F1 points against
        # fp32 while this costs 0.28 at the same speed (bench/predict.py --round ...).
        quantize_dynamic(str(plain), str(tmp), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
        os.replace(tmp, target)
    return target


def export_onnx(model_dir: Path, target: Path) -> None:
    """Trace the model with dynamic batch and sequence axes (TorchScript exporter: no onnxscript graph rewrite)."""
    import torch
    from transformers import AutoModelForTokenClassification

    log.info("exporting %s to ONNX", model_dir)
    try:
        model = AutoModelForTokenClassification.from_pretrained(model_dir, attn_implementation="eager").eval()
    except (OSError, ValueError) as exc:
        raise RegistryError(f"cannot load the model for ONNX export ({exc})", where=str(model_dir),
                            hint="check the round folder, or serve with runtime=torch") from exc
    model.config.return_dict = False
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    axes = {0: "batch", 1: "sequence"}
    with torch.inference_mode(), warnings.catch_warnings():
        # masking_utils compares the mask length to the input length while tracing; both axes are the same
        # dynamic "sequence" axis, so the branch it records (no extra padding) holds for every input
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(model, (ids, mask), str(tmp), input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                                                 "logits": axes},
                          opset_version=OPSET, dynamo=False)
    os.replace(tmp, target)


class OnnxRunner:
    """A ``Runner`` over an onnxruntime session (intra-op threads set once)."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.path = path
        self.inputs = {i.name for i in self.session.get_inputs()}  # the exporter drops inputs a model ignores

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": input_ids, "attention_mask": attention_mask}
        return self.session.run(["logits"], {k: v for k, v in feed.items() if k in self.inputs})[0]
