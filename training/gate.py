"""The promotion gate: a new round is served only if it is not worse than the served round on the same sentences.

The two rounds are compared on the new round's test split. The served round's score comes from its stored report
when it was tested on exactly these sentences (same hash), else from evaluating its model now. The comparison is
skipped only when the two rounds were trained for different label sets (known from the served round's manifest);
a served round that cannot be loaded or scored is an error that names it, never a reason to promote.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from converters.corpus import Sentence
from core.errors import TrainingError
from labeling_config.config import LabelConfig
from store.registry import RoundRecord
from training.evaluate import evaluate_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateDecision:
    promoted: bool
    reason: str


def decide_promotion(new_f1: float, current_f1: float | None, *, tolerance: float, force: bool = False,
                     current_name: str | None = None, evaluated_on: str = "test") -> GateDecision:
    """Promote unless micro F1 on the shared split fell by more than ``tolerance`` below the current round's."""
    if current_f1 is None:
        return GateDecision(True, f"first promoted round (micro F1 {new_f1:.4f} on {evaluated_on})")
    change = new_f1 - current_f1
    versus = f"micro F1 {new_f1:.4f} vs {current_f1:.4f} for {current_name} on {evaluated_on} ({change:+.4f})"
    if change >= -tolerance - 1e-9:  # a drop of exactly the tolerance passes, whatever the float rounding
        return GateDecision(True, f"{versus}: within tolerance {tolerance}" if change < 0 else f"{versus}: not worse")
    if force:
        return GateDecision(True, f"forced: {versus}, worse by more than tolerance {tolerance}")
    return GateDecision(False, f"{versus}: worse by more than tolerance {tolerance}; current stays {current_name}")


def same_labels(current: RoundRecord, config: LabelConfig) -> bool:
    """Whether the served round was trained for this config's tags (its manifest says; a round without a
    manifest entry is taken to be comparable, and evaluating it then tells)."""
    tags = current.manifest.get("tags")
    return tags is None or list(tags) == list(config.tags)


def served_evaluation(current: RoundRecord | None, test: Sequence[Sentence], test_hash: str,
                      config: LabelConfig) -> dict[str, Any] | None:
    """The served round's evaluation on these sentences (None when there is no served round or it has other
    labels). Raises TrainingError, naming the round, when it cannot be loaded or scored."""
    if current is None:
        return None
    if not same_labels(current, config):
        log.warning("%s was trained for other labels (%s): not compared", current.name, current.manifest.get("tags"))
        return None
    stored = current.manifest.get("data", {}).get("test", {}).get("hash")
    report_path = current.path / "report.json"
    if stored == test_hash and report_path.is_file() and _weights_readable(current):
        try:
            return json.loads(report_path.read_text(encoding="utf-8"))["evaluation"]
        except (OSError, ValueError, KeyError):
            log.warning("%s: unreadable report.json; evaluating its model instead", current.name)
    log.info("scoring the served round %s on this round's test data", current.name)
    try:
        return dataclasses.asdict(evaluate_model(current.model_dir, test, config))
    except Exception as err:  # a truncated safetensors file raises whatever the loader raises
        raise TrainingError(f"the served round {current.name} cannot be scored, so the new round cannot be gated "
                            f"({err})", where=str(current.path),
                            hint=f"restore {current.name}'s model/ folder, or point the project's `current` file at "
                                 "another round (then run the round again)") from err


def _weights_readable(current: RoundRecord) -> bool:
    """Whether the served round's weights open (a truncated file fails here); False sends the caller to a real
    evaluation, which then names what is wrong. Cheap: reads the safetensors header and checks the file's size."""
    from safetensors import safe_open

    paths = sorted(current.model_dir.glob("*.safetensors"))
    if not paths:
        return False
    try:
        for path in paths:
            with safe_open(str(path), "np") as handle:
                for key in handle.keys():  # noqa: SIM118 (safe_open handles are not mappings)
                    handle.get_slice(key)
    except Exception:  # SafetensorError, OSError: the evaluation below raises the named error
        return False
    return True
