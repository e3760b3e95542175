"""What the JSON-printing benchmarks (accuracy, label_errors, long_texts) share: warnings-only logs without
transformers' progress bars, and the report printed to stdout and written to a file where one is given."""

from __future__ import annotations

import json
import logging
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
