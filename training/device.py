"""Pick where a round trains and in which precision: CUDA with bf16 (or fp16) when present, else the CPU with a
sensible thread count, in bf16 mixed precision where the CPU computes bf16 natively, else fp32
(``TrainSettings.precision``).

bf16 on the CPU: on the full MIT round (bench/schedule.py, three seeds, a 2-core AVX512-BF16 machine) it trained in
0.6 of fp32's time to the same test F1 (mean 0.7977 against 0.7976)."""

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


def native_cpu_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), so that bf16 autocast is fast on it; False
    where torch cannot tell (its CPU probes are private and may be missing from other versions)."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def select_device(setting: str = "auto", *, num_threads: int | None = None,
                  precision: str = "auto") -> DeviceChoice:
    """Resolve ``auto``/``cpu``/``cuda`` and the precision; sets torch's CPU thread count as a side effect.

    ``precision`` ``auto``: bf16 on a GPU or CPU that has it natively, fp16 on an older GPU, else fp32. ``bf16``
    or ``fp32`` is taken as asked (bf16 on a CPU without native bf16 runs, slowly, and says so).
    Under torchrun the cores are shared between the local processes, so each gets its share.
    """
    import torch

    if setting not in ("auto", "cpu", "cuda"):
        raise TrainingError(f"device {setting!r} is not one of auto, cpu, cuda", hint="pass --device auto")
    if precision not in ("auto", "fp32", "bf16"):
        raise TrainingError(f"precision {precision!r} is not one of auto, fp32, bf16", hint="pass auto")
    local_procs = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    threads = num_threads or max(1, usable_cpus() // max(1, local_procs))
    torch.set_num_threads(threads)
    if setting == "cuda" and not torch.cuda.is_available():
        raise TrainingError("--device cuda was asked for but torch sees no CUDA device",
                            hint="install a CUDA build of torch, or pass --device auto")
    if setting != "cpu" and torch.cuda.is_available():
        # Native bf16 only (Ampere and newer): emulated bf16 on a T4 or V100 is slow, fp16 is what they run well.
        native = torch.cuda.is_bf16_supported(including_emulation=False)
        chosen = ("bf16" if native else "fp16") if precision == "auto" else precision
        choice = DeviceChoice("cuda", chosen, threads, torch.cuda.get_device_name(0))
    else:
        native = native_cpu_bf16()
        if precision == "bf16" and not native:
            log.warning("precision bf16 on a CPU without AVX512-BF16 or AMX: torch emulates it, usually slower "
                        "than fp32; set NERLOOP_TRAIN__PRECISION=auto")
        chosen = ("bf16" if native else "fp32") if precision == "auto" else precision
        choice = DeviceChoice("cpu", chosen, threads, "cpu")
    log.info("training device: %s", choice.describe())
    return choice
