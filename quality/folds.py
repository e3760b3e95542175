"""Out-of-sample word probabilities by k-fold cross-validation: every sentence is scored by a model that never
trained on it.

Sentences are dealt into ``folds`` seeded folds. For each fold a model is fine-tuned (in a scratch folder, like
``nerloop curve``) on the other folds, with a seeded 10 % of them held out as its validation split, and then
scores the words of its own fold. Models are not registered: an audit is a measurement, not a round.
"""

from __future__ import annotations

import logging
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from converters.corpus import Sentence
from core.errors import TrainingError
from inference.loader import load_classifier
from labeling_config import LabelConfig
from store.settings import RaySettings, TrainSettings
from training.base_model import resolve_base_model
from training.cluster import run_task
from training.fine_tune import Progress, fine_tune
from training.remote_training import FolderFiles, base_for_job, base_on_node, quiet_node, settings_for_cluster
from training.split_files import carve_validation

log = logging.getLogger(__name__)
Say = Callable[[str], None]


@dataclass(frozen=True)
class OutOfSample:
    probs: tuple[np.ndarray, ...]  # per sentence: (words, tags in config.tags order)
    fold_of: tuple[int, ...]  # the fold each sentence was held out in
    seconds: float


def assign_folds(count: int, folds: int, *, seed: int = 0) -> list[int]:
    """A fold number per item: a seeded shuffle dealt round-robin, so fold sizes differ by at most one."""
    if folds < 2:
        raise TrainingError(f"--folds must be at least 2, got {folds}", hint="use --folds 2 for speed, 5 for quality")
    if count < folds:
        raise TrainingError(f"{count} annotated sentence(s) cannot be split into {folds} folds",
                            hint="annotate more tasks, or pass fewer --folds")
    order = list(range(count))
    random.Random(seed).shuffle(order)
    fold_of = [0] * count
    for position, item in enumerate(order):
        fold_of[item] = position % folds
    return fold_of


def estimate_seconds(sentences: int, folds: int, settings: TrainSettings, *, step_seconds: float) -> float:
    """Training time of all folds from the measured time of one optimizer step (scoring adds about 5 %)."""
    per_fold = sentences * (folds - 1) / folds * 0.9  # 10 % of the training folds is held out for validation
    steps = folds * settings.epochs * per_fold / settings.batch_size
    return steps * step_seconds * 1.05


def measure_step_seconds(sentences: Sequence[Sentence], config: LabelConfig, settings: TrainSettings,
                         base_source: str, *, steps: int = 3) -> float:
    """Seconds per optimizer step on this machine: a few real steps on one batch of the data."""
    import torch
    from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification

    from training.alignment import encode_sentences
    from training.base_model import load_pretrained, load_tokenizer

    if settings.num_threads:
        torch.set_num_threads(settings.num_threads)
    tokenizer = load_tokenizer(settings.base_model, base_source)
    model = load_pretrained(AutoModelForTokenClassification, settings.base_model, base_source,
                            num_labels=len(config.tags), id2label=config.id2tag, label2id=config.tag2id,
                            ignore_mismatched_sizes=True)
    data = encode_sentences(tokenizer, list(sentences[: settings.batch_size]), config.tag2id,
                            max_length=settings.max_length)
    batch = DataCollatorForTokenClassification(tokenizer)([data[i] for i in range(len(data))])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    model.train()
    timings = []
    for _ in range(steps + 1):  # the first step warms up and is not counted
        started = time.perf_counter()
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        timings.append(time.perf_counter() - started)
    return float(np.median(timings[1:]))


def out_of_sample_probs(sentences: Sequence[Sentence], config: LabelConfig, settings: TrainSettings, *,
                        folds: int = 5, seed: int = 0, say: Say = lambda _msg: None,
                        progress: Progress | None = None, cluster: RaySettings | None = None) -> OutOfSample:
    """Train ``folds`` models and return each sentence's word probabilities from the model that did not see it.

    With ``cluster`` every fold is a Ray task of its own and the folds run side by side (as far as the cluster's
    resources allow); the folds, seeds and results are the same as here, one after another."""
    fold_of = assign_folds(len(sentences), folds, seed=seed)
    base_source = resolve_base_model(settings.base_model)
    jobs = []
    for fold in range(folds):
        held = [i for i, f in enumerate(fold_of) if f == fold]
        rest = [sentences[i] for i, f in enumerate(fold_of) if f != fold]
        train, validation = carve_validation(rest, 0.1, seed=seed + fold)
        say(f"fold {fold + 1}/{folds}: training on {len(train)} sentences, scoring {len(held)}")
        jobs.append((held, FoldJob(fold, tuple(train), tuple(validation), tuple(sentences[i] for i in held), config,
                                   settings, None, None)))
    started = time.perf_counter()
    if cluster is None:
        scored = [_score_fold(job, base_source, progress) for _, job in jobs]
    else:
        scored = _score_folds_on_cluster([job for _, job in jobs], base_source, cluster)
    probs: list[np.ndarray | None] = [None] * len(sentences)
    for (held, _), fold_probs in zip(jobs, scored, strict=True):
        for i, scores in zip(held, fold_probs, strict=True):
            probs[i] = scores
    return OutOfSample(tuple(p for p in probs if p is not None), tuple(fold_of), time.perf_counter() - started)


@dataclass(frozen=True)
class FoldJob:
    """One fold: what its model trains on, the sentences it scores, and (on a cluster) how the base model travels."""

    fold: int
    train: tuple[Sentence, ...]
    validation: tuple[Sentence, ...]
    held: tuple[Sentence, ...]
    config: LabelConfig
    settings: TrainSettings
    base_name: str | None
    base_files: FolderFiles | None


def _score_fold(job: FoldJob, base_source: str, progress: Progress | None = None) -> list[np.ndarray]:
    with tempfile.TemporaryDirectory(prefix="nerloop-audit-") as scratch:
        result = fine_tune(job.train, job.validation, config=job.config, settings=job.settings, output_dir=scratch,
                           base_source=base_source, progress=progress)
        return score_words(result.model_dir, job.held, job.config)


def score_fold_on_worker(job: FoldJob) -> Iterator[tuple[str, Any]]:
    """The Ray task of one fold: train and score in a working directory of the node's own."""
    quiet_node()
    with tempfile.TemporaryDirectory(prefix="nerloop-audit-base-") as scratch:
        base_source = base_on_node(job.base_name, job.base_files, job.settings, Path(scratch),
                                   came_from="the audit's host")
        yield "result", _score_fold(job, base_source)


def _score_folds_on_cluster(jobs: list[FoldJob], base_source: str, cluster: RaySettings) -> list[list[np.ndarray]]:
    settings = settings_for_cluster(jobs[0].settings, cluster)
    base_name, base_files = base_for_job(settings, base_source)
    sent = [replace(job, settings=settings, base_name=base_name, base_files=base_files) for job in jobs]
    with ThreadPoolExecutor(max_workers=len(sent)) as pool:  # each waits on its own Ray task
        running = [pool.submit(run_task, score_fold_on_worker, job, settings=cluster,
                               what=f"fold {job.fold + 1}/{len(sent)} of the audit",
                               name=f"nerloop-audit-fold-{job.fold + 1}") for job in sent]
        return [future.result() for future in running]


def score_words(model_dir: Path, sentences: Sequence[Sentence], config: LabelConfig) -> list[np.ndarray]:
    """(words, tags in ``config.tags`` order) per sentence; a word the tokenizer dropped gets its own label."""
    classifier = load_classifier(model_dir, warm_up=False)  # the inference core: the same code that serves
    columns = [classifier.tags.index(tag) for tag in config.tags]
    out = []
    for sentence, scores in zip(sentences, classifier.score([s.tokens for s in sentences]), strict=True):
        probs = scores.probs[:, columns].astype(np.float64)
        for j in np.flatnonzero(~scores.scored):
            probs[j] = 0.0
            probs[j, config.tags.index(sentence.tags[j])] = 1.0
        out.append(probs)
    return out
