"""Fine-tune a token-classification model on sentences: the Trainer setup, progress events, and the best
checkpoint by validation entity F1 (seqeval strict IOB2), saved as safetensors with its tokenizer.

Under ``torchrun`` the Trainer runs DDP by itself (gloo on CPU, NCCL on CUDA); only the main process saves.
"""

from __future__ import annotations

import logging
import shutil
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from converters.corpus import Sentence
from core.errors import TrainingError
from inference.windows import WindowSize, write_window_size
from labeling_config.config import LabelConfig
from store.settings import TrainSettings
from training.alignment import IGNORE, WindowCounts, encode_sentences
from training.base_model import load_pretrained, load_tokenizer
from training.device import DeviceChoice, select_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainEvent:
    """A progress event: ``kind`` is "start", "step", "evaluate" or "end"."""

    kind: str
    step: int
    total_steps: int
    epoch: float
    metrics: dict[str, float] = field(default_factory=dict)


Progress = Callable[[TrainEvent], None]
FineTune = Callable[..., "FineTuneResult"]  # fine_tune, or a stand-in with its signature (training on a cluster)


@dataclass(frozen=True)
class FineTuneResult:
    model_dir: Path
    device: DeviceChoice
    best_f1: float | None
    best_checkpoint: str | None
    history: tuple[dict[str, float], ...]  # one dict per validation run
    steps: int
    seconds: float
    is_main_process: bool
    windows: WindowCounts | None = None  # how the training texts fitted the window
    # where it trained: {"kind": "local", "host"} here, or what training.remote_training records of a Ray node
    executor: dict[str, Any] = field(default_factory=lambda: {"kind": "local", "host": socket.gethostname()})


def seqeval_metrics(id2tag: dict[int, str]) -> Callable[[Any], dict[str, float]]:
    """``compute_metrics`` for the Trainer: strict IOB2 entity P/R/F1 over positions whose label is not -100."""
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    def compute(prediction: Any) -> dict[str, float]:
        preds, labels = prediction.predictions, prediction.label_ids
        gold_tags, pred_tags = [], []
        for pred_row, label_row in zip(preds, labels, strict=True):
            keep = [(int(p), int(g)) for p, g in zip(pred_row, label_row, strict=True) if g != IGNORE]
            gold_tags.append([id2tag[g] for _, g in keep])
            pred_tags.append([id2tag[p] for p, _ in keep])
        kwargs: dict[str, Any] = {"mode": "strict", "scheme": IOB2, "zero_division": 0}
        return {"precision": float(precision_score(gold_tags, pred_tags, **kwargs)),
                "recall": float(recall_score(gold_tags, pred_tags, **kwargs)),
                "f1": float(f1_score(gold_tags, pred_tags, **kwargs))}

    return compute


def _argmax(logits: Any, labels: Any) -> Any:
    return logits.argmax(dim=-1)


def describe_validation(step: int, steps: int, epoch: float, metrics: dict[str, float]) -> str:
    """One line a person reads: ``validation at step 648 of 972 (epoch 2.00): F1 0.7123 (precision 0.7001, recall
    0.7250), loss 0.2345``; the Trainer's metric names carry an ``eval_`` prefix."""
    value = {k.removeprefix("eval_"): v for k, v in metrics.items()}
    scores = ", ".join(f"{name} {value[key]:.4f}" for key, name in (("precision", "precision"), ("recall", "recall"))
                       if key in value)
    parts = [f"F1 {value['f1']:.4f}" + (f" ({scores})" if scores else "")] if "f1" in value else []
    if "loss" in value:
        parts.append(f"loss {value['loss']:.4f}")
    return f"validation at step {step} of {steps} (epoch {epoch:.2f}): {', '.join(parts) or 'no scores'}"


def _progress_callback(progress: Progress | None) -> Any:
    from transformers import TrainerCallback

    class Relay(TrainerCallback):
        def _send(self, kind: str, state: Any, metrics: dict[str, float] | None = None) -> None:
            if progress is not None and state.is_world_process_zero:
                progress(TrainEvent(kind, state.global_step, state.max_steps, float(state.epoch or 0.0),
                                    dict(metrics or {})))

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._send("start", state)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._send("step", state)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            log.debug("step %d: %s", state.global_step, logs)

        def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any) -> None:
            log.info(describe_validation(state.global_step, state.max_steps, float(state.epoch or 0.0), metrics or {}))
            self._send("evaluate", state, metrics)

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._send("end", state)

    return Relay()


def _training_arguments(settings: TrainSettings, device: DeviceChoice, output_dir: Path) -> Any:
    import inspect
    import os

    from transformers import TrainingArguments

    by_steps = settings.eval_every != "epoch"
    strategy = "steps" if by_steps else "epoch"
    distributed_cpu = device.kind == "cpu" and int(os.environ.get("WORLD_SIZE", "1")) > 1
    # transformers 5 takes a ratio as a float warmup_steps (warmup_ratio is gone); 4.x has warmup_ratio.
    warmup = ({"warmup_ratio": settings.warmup_ratio}
              if "warmup_ratio" in inspect.signature(TrainingArguments.__init__).parameters
              else {"warmup_steps": settings.warmup_ratio})
    # transformers 5 names the length-grouped sampler train_sampling_strategy; 4.x has group_by_length.
    grouping = ({} if not settings.length_grouped
                else {"train_sampling_strategy": "group_by_length"}
                if "train_sampling_strategy" in inspect.signature(TrainingArguments.__init__).parameters
                else {"group_by_length": True})
    return TrainingArguments(
        output_dir=str(output_dir), num_train_epochs=settings.epochs, learning_rate=settings.resolved_learning_rate,
        per_device_train_batch_size=settings.batch_size, per_device_eval_batch_size=max(32, settings.batch_size),
        weight_decay=settings.weight_decay, **warmup, seed=settings.seed,
        data_seed=settings.seed, eval_strategy=strategy, save_strategy=strategy,
        eval_steps=settings.eval_every if by_steps else None, save_steps=settings.eval_every if by_steps else 500,
        load_best_model_at_end=True, metric_for_best_model="f1", greater_is_better=True, save_total_limit=1,
        save_only_model=True, logging_steps=settings.logging_steps, report_to="none", disable_tqdm=True,
        use_cpu=device.kind == "cpu", bf16=device.precision == "bf16", fp16=device.precision == "fp16",
        ddp_backend="gloo" if distributed_cpu else None, dataloader_num_workers=0, **grouping)


def _wait_for_all_processes() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def fine_tune(train: Sequence[Sentence], validation: Sequence[Sentence], *, config: LabelConfig,
              settings: TrainSettings, output_dir: str | Path, base_source: str, progress: Progress | None = None,
              ) -> FineTuneResult:
    """Train from ``base_source`` (a folder or hub id; ``settings.base_model`` names it in errors) and save the
    best checkpoint, its tokenizer and the label map to ``output_dir/model``; checkpoints are removed."""
    from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification, Trainer, set_seed
    from transformers.trainer_callback import PrinterCallback

    if not train or not validation:
        raise TrainingError(f"need training and validation sentences (got {len(train)} and {len(validation)})",
                            hint="label more tasks, or pass a --validation split")
    output_dir = Path(output_dir)
    device = select_device(settings.device, num_threads=settings.num_threads, precision=settings.precision)
    set_seed(settings.seed)
    tokenizer = load_tokenizer(settings.base_model, base_source)
    model = load_pretrained(AutoModelForTokenClassification, settings.base_model, base_source,
                            num_labels=len(config.tags), id2label=config.id2tag, label2id=config.tag2id,
                            ignore_mismatched_sizes=True)
    log.info("loaded %s from %s with a token-classification head for %d tags", settings.base_model, base_source,
             len(config.tags))
    if settings.freeze_word_embeddings:  # no dense gradient, clipping or optimizer state for the vocabulary matrix
        model.get_input_embeddings().weight.requires_grad_(False)
    train_data = encode_sentences(tokenizer, train, config.tag2id, max_length=settings.max_length,
                                  stride=settings.stride, label_all_subtokens=settings.label_all_subtokens)
    # Validation always scores words (first sub-token), whatever the training rule: that is what F1 means.
    validation_data = encode_sentences(tokenizer, validation, config.tag2id, max_length=settings.max_length,
                                       stride=settings.stride)
    checkpoints = output_dir / "checkpoints"
    trainer = Trainer(model=model, args=_training_arguments(settings, device, checkpoints),
                      data_collator=DataCollatorForTokenClassification(tokenizer),
                      train_dataset=train_data, eval_dataset=validation_data, processing_class=tokenizer,
                      compute_metrics=seqeval_metrics(config.id2tag), preprocess_logits_for_metrics=_argmax,
                      callbacks=[_progress_callback(progress)])
    trainer.remove_callback(PrinterCallback)  # it prints every log dict to stdout; we log and emit events instead
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    model_dir = output_dir / "model"
    main = trainer.is_world_process_zero()
    _wait_for_all_processes()  # every rank has loaded the best checkpoint before rank 0 removes it
    if main:
        trainer.save_model(str(model_dir))  # safetensors + config (id2label/label2id) + tokenizer
        (model_dir / "training_args.bin").unlink(missing_ok=True)  # a pickle: the manifest has the settings
        write_window_size(model_dir, WindowSize(train_data.counts.max_length, settings.stride))
        shutil.rmtree(checkpoints, ignore_errors=True)
    history = tuple({k: float(v) for k, v in entry.items() if isinstance(v, int | float)}
                    for entry in trainer.state.log_history if "eval_f1" in entry)
    best = trainer.state.best_metric
    log.info("trained %d steps in %.1f s; best validation F1 %s", trainer.state.global_step, seconds, best)
    return FineTuneResult(model_dir, device, float(best) if best is not None else None,
                          Path(trainer.state.best_model_checkpoint).name if trainer.state.best_model_checkpoint
                          else None, history, trainer.state.global_step, seconds, main, train_data.counts)
