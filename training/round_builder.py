"""Building one round in a project's registry: train → evaluate on the test split → gate (``training.gate``) →
report with delta → register → promote. ``train_round`` is the single entry point the pipeline and ``nerloop
train`` call; ``models_dir`` here is one project's registry folder (``store.projects.project_dir``).

Under torchrun every process calls ``train_round``; all train (DDP), only rank 0 evaluates, writes and registers.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetensors import SafetensorError

from converters.corpus import Sentence
from core.errors import RegistryError
from inference.windows import WINDOW_FILE
from labeling_config.config import LabelConfig
from store import registry
from store.settings import TrainSettings
from training.base_model import resolve_base_model, weights_sha256
from training.evaluate import evaluate_model
from training.fine_tune import FineTune, Progress, fine_tune
from training.gate import GateDecision, decide_promotion, served_evaluation
from training.manifest import build_manifest, now
from training.metrics import Evaluation
from training.report import build_report, write_report
from training.report_sections import round_history
from training.split_files import SplitsSource, hash_sentences, load_splits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoundResult:
    name: str  # "round-0007"; "" on a non-main DDP process, which registers nothing
    path: Path | None
    promoted: bool
    reason: str
    metrics: dict[str, Any]  # micro_f1, macro_f1, precision, recall, token_accuracy, f1_by_label
    previous: str | None  # the round that was current before this one
    report_paths: dict[str, Path] = field(default_factory=dict)
    previous_f1: float | None = None  # the previous round's micro F1 on this round's test data

    @property
    def delta(self) -> float | None:
        """Micro F1 change against the previous promoted round on the same test data (None for the first)."""
        return None if self.previous_f1 is None else self.metrics["micro_f1"] - self.previous_f1


def _metrics(evaluation: Evaluation) -> dict[str, Any]:
    return {"micro_f1": evaluation.micro.f1, "macro_f1": evaluation.macro.f1, "precision": evaluation.micro.precision,
            "recall": evaluation.micro.recall, "token_accuracy": evaluation.token_accuracy,
            "f1_by_label": evaluation.f1_by_label()}


def _manifest_windows(windows: dict[str, int] | None) -> dict[str, Any] | None:
    """What the manifest records of the window: how the training texts fitted it, and where the window itself is
    (``model/window.json``, the one record of it, which loading the model reads). Manifests of earlier rounds also
    hold ``max_length`` and ``stride`` here; nothing reads them."""
    if windows is None:
        return None
    return {**{key: windows[key] for key in ("texts", "windowed", "windows")}, "window_file": f"model/{WINDOW_FILE}"}


def starting_weights(settings: TrainSettings, current: registry.RoundRecord | None, config: LabelConfig) -> str:
    """Where a round's weights start: the served round's folder under ``init_from=current`` when that round has the
    config's tags and the settings' base model (a warm start), else the base model."""
    if settings.init_from == "current" and current is not None:
        labels = current.manifest.get("tags")
        same_labels = labels == list(config.tags)
        base = (current.manifest.get("base_model") or {}).get("name")
        if same_labels and base == settings.base_model:
            log.info("starting from the current round %s (warm start)", current.name)
            return str(current.model_dir)
        why = (f"its tags {labels} differ from the config's" if not same_labels
               else f"it was trained from base model {base!r}, not {settings.base_model!r}")
        log.warning("not starting from %s: %s; using the base model", current.name, why)
    return resolve_base_model(settings.base_model)


def train_round(splits_dir_or_paths: SplitsSource, *, config: LabelConfig, models_dir: Path,
                settings: TrainSettings, test_sentences: list[Sentence] | None = None,
                test_source: str = "the given test sentences", force: bool = False,
                progress: Progress | None = None, extra_manifest: dict | None = None,
                lock: bool = True, prepare_model: Callable[[Path], None] | None = None,
                report_extra: Mapping[str, Any] | None = None, train: FineTune = fine_tune) -> RoundResult:
    """Train a round into ``models_dir``, evaluate it on the test split, write its report, register it as the next
    ``round-NNNN`` and make it ``current`` if it passes the gate (or ``force``).

    ``test_sentences`` (named ``test_source`` in reports) replace the splits' test file when given.
    ``prepare_model``: called on the saved model folder of a round that passed the gate, before it is committed and
    promoted (e.g. to export
    the ONNX file the backend will serve), so a served round is complete when ``current`` names it.

    ``lock=False``: the caller already holds ``registry.round_lock(models_dir)`` (e.g. around an export too).
    ``report_extra``: more keyword arguments of ``training.report.build_report`` (``task_link``, ``sections``).
    ``train``: ``fine_tune`` here, or ``training.remote_training.ray_fine_tune``'s, which trains on a Ray cluster
    and brings the model back into the staging folder; everything after training runs here either way.
    """
    started, clock = now(), time.perf_counter()
    models_dir = Path(models_dir)
    splits = load_splits(splits_dir_or_paths, config, seed=settings.seed)
    test = list(test_sentences) if test_sentences is not None else list(splits.test)
    evaluated_on = (test_source if test_sentences is not None
                    else splits.files.get("test", ""))
    if not test:
        test, evaluated_on = list(splits.validation), f"validation ({splits.files['validation']}; no test split)"
    rank = int(os.environ.get("RANK", "0"))
    if rank != 0:  # a DDP worker: train in lockstep with rank 0, which owns the staging folder
        staging = registry.new_staging(models_dir, tag=f"ddp-{os.environ.get('TORCHELASTIC_RUN_ID', 'run')}")
        fine_tune(splits.train, splits.validation, config=config, settings=settings, output_dir=staging,
                  base_source=starting_weights(settings, registry.current_round(models_dir), config))
        return RoundResult("", None, False, f"rank {rank} of a distributed run: rank 0 registers the round", {}, None)
    with registry.round_lock(models_dir) if lock else contextlib.nullcontext():
        registry.clean_staging(models_dir)
        registry.finish_promotion(models_dir)
        current = registry.current_round(models_dir)
        distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
        staging = registry.new_staging(
            models_dir, tag=f"ddp-{os.environ.get('TORCHELASTIC_RUN_ID', 'run')}" if distributed else None)
        try:
            return _build_round(splits, test, evaluated_on, staging, current, config=config, models_dir=models_dir,
                                settings=settings, force=force, progress=progress, extra=extra_manifest,
                                started=started, clock=clock, prepare_model=prepare_model,
                                report_extra=report_extra or {}, train=train)
        except (OSError, SafetensorError) as exc:
            if not _disk_full(exc):
                raise
            raise RegistryError(f"could not write the round's files ({exc}); nothing was registered",
                                where=str(staging), hint=f"free space on the disk of {models_dir} (or raise its "
                                                         "quota or file size limit), then run the round again") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone after a commit; removes a failed round's leftovers


def _disk_full(exc: BaseException) -> bool:
    """A write that failed for lack of room: a full disk, a quota, a file size limit (safetensors words it so)."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
    return any(f"os error {code})" in str(exc) for code in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT))


def _build_round(splits: Any, test: list[Sentence], evaluated_on: str, staging: Path,
                 current: registry.RoundRecord | None, *, config: LabelConfig, models_dir: Path,
                 settings: TrainSettings, force: bool, progress: Progress | None, extra: dict | None,
                 started: str, clock: float, prepare_model: Callable[[Path], None] | None,
                 report_extra: Mapping[str, Any], train: FineTune) -> RoundResult:
    test_hash = hash_sentences(test)
    previous = served_evaluation(current, test, test_hash, config)  # before training: a broken round fails fast
    base_source = starting_weights(settings, current, config)
    timings = {"prepare_s": time.perf_counter() - clock}
    result = train(splits.train, splits.validation, config=config, settings=settings, output_dir=staging,
                   base_source=base_source, progress=progress)
    timings["train_s"] = result.seconds
    tick = time.perf_counter()
    evaluation = evaluate_model(result.model_dir, test, config, device=result.device.kind)
    timings["evaluate_s"] = time.perf_counter() - tick
    decision = decide_promotion(evaluation.micro.f1, previous["micro"]["f1"] if previous else None,
                                tolerance=settings.promote_tolerance, force=force,
                                current_name=current.name if current else None, evaluated_on=evaluated_on)
    if current is not None and previous is None:
        decision = GateDecision(True, f"{current.name} was trained for other labels, so it is not compared; "
                                      f"promoted with micro F1 {evaluation.micro.f1:.4f} on {evaluated_on}")
    if prepare_model is not None and decision.promoted:  # only a round that will be served needs it
        tick = time.perf_counter()
        prepare_model(result.model_dir)
        timings["prepare_model_s"] = time.perf_counter() - tick
    name = registry.next_round_name(models_dir)
    gate = {"promoted": decision.promoted, "reason": decision.reason, "forced": force,
            "tolerance": settings.promote_tolerance, "previous": current.name if current else None}
    manifest = build_manifest(config=config, settings=settings, splits=splits, test_source=evaluated_on,
                              test_hash=test_hash, base_source=base_source, base_hash=weights_sha256(base_source),
                              result=result, timings={**timings, "total_s": time.perf_counter() - clock},
                              started=started, extra=extra)
    manifest.update(round=name, promoted=decision.promoted, gate=gate, metrics=_metrics(evaluation))
    windows = result.windows.as_dict() if result.windows else None  # texts cut into windows (never truncated)
    manifest["training"]["windows"] = _manifest_windows(windows)
    report = build_report(name, evaluation, evaluated_on=evaluated_on, previous_name=current.name if current else None,
                          previous=previous, gate=gate,
                          training={"base_model": settings.base_model, "device": result.device.describe(),
                                    "epochs": settings.epochs, "best_validation_f1": result.best_f1,
                                    "train_seconds": round(result.seconds, 1), "windows": windows,
                                    "runtime": "torch", "evaluate_seconds": round(timings["evaluate_s"], 2),
                                    "test_sentences_per_s": round(len(test) / max(timings["evaluate_s"], 1e-9), 1),
                                    "started_from": current.name if current is not None
                                    and base_source == str(current.model_dir) else settings.base_model,
                                    "sentences": len(splits.train) + len(splits.validation)},
                          project_dir=models_dir, history=round_history(models_dir), **report_extra)
    write_report(staging, report)
    registry.write_json(staging / "manifest.json", manifest)
    if decision.promoted:
        (staging / registry.PROMOTING).touch()  # a kill before `current` moves is finished by the next round
    record = registry.commit_round(models_dir, staging)
    if decision.promoted:
        registry.promote(models_dir, record)
    log.info("%s: %s", record.name, decision.reason)
    return RoundResult(record.name, record.path, decision.promoted, decision.reason, _metrics(evaluation),
                       current.name if current else None,
                       {fmt: record.path / f"report.{fmt}" for fmt in ("json", "md", "html")},
                       previous["micro"]["f1"] if previous else None)
