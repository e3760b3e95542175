"""What the JSON-printing benchmarks share: warnings-only logs without transformers' progress bars, the machine a
report was measured on, and the report printed to stdout and written to a file where one is given."""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
from pathlib import Path
from typing import Any


def quiet_logs(*, transformers_errors_only: bool = False) -> None:
    """Warnings and errors only, with no tqdm bars from transformers (and none of its warnings if asked)."""
    from transformers.utils import logging as hf_logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    hf_logging.disable_progress_bar()
    if transformers_errors_only:
        hf_logging.set_verbosity_error()


def print_report(report: dict[str, Any], out: Path | None) -> None:
    """``report`` as indented JSON on stdout, and in ``out`` (its folder made) when given."""
    text = json.dumps(report, indent=2)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
    sys.stdout.write(text + "\n")


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages now, to two decimals: whether the machine was idle around a figure."""
    return [round(x, 2) for x in os.getloadavg()]


def machine(load_at_start: list[float] | None = None) -> dict[str, Any]:
    """The machine a figure comes from: cores, platform (the host's kernel build tells hosts apart), Python, torch and
    its threads, whether the CPU has native bf16, the GPU, and the load average when the run started (now, unless
    given)."""
    import torch

    from training.device import native_cpu_bf16, usable_cpus

    return {"cpu_count": os.cpu_count(), "usable_cpus": usable_cpus(), "platform": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "cpu_bf16": native_cpu_bf16(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "load_average_at_start": load_at_start or load_average()}
