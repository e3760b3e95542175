"""The PyTorch ``Runner``: a token-classification model in eval mode, on CPU or CUDA, under ``inference_mode``.

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
    """

    def __init__(self, model: Any, threads: int | None = None, single_thread_below: int = 256,
                 device: str = "cpu") -> None:
        self.model = model.to(device).eval()
        self.device = device
        self.threads = threads
        self.single_thread_below = single_thread_below

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        if self.threads is not None and self.device == "cpu":
            wanted = 1 if input_ids.size < self.single_thread_below else self.threads
            if torch.get_num_threads() != wanted:
                torch.set_num_threads(wanted)
        with torch.inference_mode():
            out = self.model(input_ids=torch.from_numpy(input_ids).to(self.device),
                             attention_mask=torch.from_numpy(attention_mask).to(self.device))
        return out.logits.float().cpu().numpy()
