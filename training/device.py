"""Pick where a round trains: CUDA with bf16 (or fp16) when present, else the CPU with a sensible thread count."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Literal

from core.errors import TrainingError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceChoice:
    kind: Literal["cpu", "cuda"]
    precision: Literal["fp32", "bf16", "fp16"]
    threads: int
    name: str  # e.g. "NVIDIA H100 80GB HBM3" or "cpu"

    def describe(self) -> str:
        return f"{self.name} ({self.kind}, {self.precision}, {self.threads} threads)"


def usable_cpus() -> int:
    """Cores this process may run on (affinity aware), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def select_device(setting: str = "auto", *, num_threads: int | None = None) -> DeviceChoice:
    """Resolve ``auto``/``cpu``/``cuda``; sets torch's CPU thread count as a side effect.

    Under torchrun the cores are shared between the local processes, so each gets its share.
    """
    import torch

    if setting not in ("auto", "cpu", "cuda"):
        raise TrainingError(f"device {setting!r} is not one of auto, cpu, cuda", hint="pass --device auto")
    local_procs = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    threads = num_threads or max(1, usable_cpus() // max(1, local_procs))
    torch.set_num_threads(threads)
    if setting == "cuda" and not torch.cuda.is_available():
        raise TrainingError("--device cuda was asked for but torch sees no CUDA device",
                            hint="install a CUDA build of torch, or pass --device auto")
    if setting != "cpu" and torch.cuda.is_available():
        # Native bf16 only (Ampere and newer): emulated bf16 on a T4 or V100 is slow, fp16 is what they run well.
        precision = "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"
        choice = DeviceChoice("cuda", precision, threads, torch.cuda.get_device_name(0))
    else:
        choice = DeviceChoice("cpu", "fp32", threads, "cpu")
    log.info("training device: %s", choice.describe())
    return choice
