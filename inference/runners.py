"""The PyTorch ``Runner``: a token-classification model in eval mode, on CPU or CUDA, under ``inference_mode``,
in fp32 or under bf16 autocast.

(The ONNX Runtime runner is ``inference.onnx.OnnxRunner``.)
"""

from __future__ import annotations

from typing import Any

import numpy as np


class TorchRunner:
    """A ``Runner`` over a PyTorch model in eval mode, under ``torch.inference_mode``.

    On CPU, small inputs (fewer than ``single_thread_below`` sub-tokens in the batch, e.g. one sentence) run on one
    intra-op thread: splitting a tiny matmul across cores buys nothing and, on a shared CPU, costs long tails.
    Calls are serialized by ``TokenClassifier``, so switching the process-wide thread count here is safe.
    ``threads=None`` leaves torch's thread count alone (e.g. evaluation inside a training round).
    ``precision="bf16"`` runs the pass under bf16 autocast (weights stay fp32; logits come back as fp32): several
    times faster on CPUs with AVX512-BF16 or AMX; emulated, usually slower, on those without.
    """

    def __init__(self, model: Any, threads: int | None = None, single_thread_below: int = 256,
                 device: str = "cpu", precision: str = "fp32") -> None:
        self.model = model.to(device).eval()
        self.device = device
        self.threads = threads
        self.single_thread_below = single_thread_below
        self.precision = precision

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        if self.threads is not None and self.device == "cpu":
            wanted = 1 if input_ids.size < self.single_thread_below else self.threads
            if torch.get_num_threads() != wanted:
                torch.set_num_threads(wanted)
        device_type = "cuda" if self.device.startswith("cuda") else "cpu"
        with torch.inference_mode(), torch.autocast(device_type, dtype=torch.bfloat16,
                                                    enabled=self.precision == "bf16"):
            out = self.model(input_ids=torch.from_numpy(input_ids).to(self.device),
                             attention_mask=torch.from_numpy(attention_mask).to(self.device))
        return out.logits.float().cpu().numpy()
