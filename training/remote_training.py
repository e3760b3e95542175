"""A round's training on a Ray cluster, as a drop-in for ``training.fine_tune.fine_tune``.

What travels to the cluster: the training and validation sentences, the label config, the training settings and
the base model, by name (a hub id, or ``minilm``, which the node resolves itself) or, for a folder only this
machine has (the served round, with ``init_from=current``, or a local path), as its files. The node trains in a
working directory of its own and sends back the model folder's files with their SHA-256, its device and where it
ran. Here the files are checked (every hash, and the files a served model needs) before they are written to the
round's staging folder; evaluation, the gate, the report and promotion then run here, as for a local round.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from converters.corpus import Sentence
from core.errors import ClusterError
from inference.windows import WINDOW_FILE
from labeling_config.config import LabelConfig
from store.settings import MINILM_ALIAS, RaySettings, TrainSettings
from training.alignment import WindowCounts
from training.base_model import resolve_base_model
from training.cluster import run_task, where_it_ran
from training.device import DeviceChoice
from training.fine_tune import FineTune, FineTuneResult, Progress, TrainEvent, fine_tune

log = logging.getLogger(__name__)

REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer_config.json", WINDOW_FILE)
SKIPPED_SUFFIXES = (".onnx", ".lock")  # a served round's ONNX export is not needed to train from it


@dataclass(frozen=True)
class FolderFiles:
    """A folder's files (relative path → bytes) and their SHA-256, as they travel through Ray."""

    files: dict[str, bytes]
    sha256: dict[str, str]

    @classmethod
    def read(cls, folder: Path) -> FolderFiles:
        files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
                 if p.is_file() and not p.name.endswith(SKIPPED_SUFFIXES)}
        return cls(files, {name: hashlib.sha256(data).hexdigest() for name, data in files.items()})

    def write_checked(self, folder: Path, *, came_from: str, required: Sequence[str] = ()) -> None:
        """Write the files into ``folder`` after checking every hash and that the ``required`` ones are there."""
        missing = [name for name in required if name not in self.files]
        if missing:
            raise ClusterError(f"the model that came back from {came_from} lacks {', '.join(missing)}",
                               hint="nothing was registered; check the cluster's nerloop version, then run the round "
                                    "again")
        for name, data in self.files.items():
            if hashlib.sha256(data).hexdigest() != self.sha256.get(name):
                raise ClusterError(f"the file {name} that came back from {came_from} does not match its SHA-256",
                                   hint="nothing was registered; run the round again")
            target = (folder / name).resolve()
            if not target.is_relative_to(folder.resolve()):
                raise ClusterError(f"{came_from} sent a file outside the model folder: {name!r}",
                                   hint="nothing was registered")
        for name, data in self.files.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    @property
    def size(self) -> int:
        return sum(len(data) for data in self.files.values())


@dataclass(frozen=True)
class TrainJob:
    """Everything a node needs to train one round, and nothing of this machine's filesystem."""

    train: tuple[Sentence, ...]
    validation: tuple[Sentence, ...]
    config: LabelConfig
    settings: TrainSettings
    base_name: str | None  # a hub id or "minilm", resolved on the node ...
    base_files: FolderFiles | None = None  # ... or the base model's files


@dataclass(frozen=True)
class TrainedRemotely:
    files: FolderFiles
    device: DeviceChoice
    best_f1: float | None
    best_checkpoint: str | None
    history: tuple[dict[str, float], ...]
    steps: int
    seconds: float
    windows: WindowCounts | None
    where: dict[str, Any] = field(default_factory=dict)


def base_for_job(settings: TrainSettings, base_source: str) -> tuple[str | None, FolderFiles | None]:
    """How the base model travels: by name when the node can resolve it, as files when only this machine has it."""
    if settings.base_model == MINILM_ALIAS and base_source == resolve_base_model(MINILM_ALIAS):
        return MINILM_ALIAS, None
    folder = Path(base_source)
    if folder.is_dir():
        return None, FolderFiles.read(folder)
    return base_source, None


def settings_for_cluster(settings: TrainSettings, cluster: RaySettings) -> TrainSettings:
    """Unless set, a task trains with the CPUs it asked for as torch threads, not all of the node's."""
    if settings.num_threads is not None:
        return settings
    return settings.model_copy(update={"num_threads": max(1, int(cluster.num_cpus))})


def base_on_node(base_name: str | None, base_files: FolderFiles | None, settings: TrainSettings,
                 folder: Path, *, came_from: str = "the round's host") -> str:
    """On a node: the base model's source, its files written to ``folder`` when they travelled."""
    if base_files is not None:
        base_files.write_checked(folder, came_from=came_from)
        return str(folder)
    return resolve_base_model(base_name or settings.base_model)


def quiet_node() -> None:
    """On a node: nerloop's log lines go to stderr, which Ray sends on to the round's log; no progress bars."""
    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging as hf_logging

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    disable_progress_bars()


def train_on_worker(job: TrainJob) -> Iterator[tuple[str, Any]]:
    """The Ray task: train in a working directory of the node's own; yield progress events, then the model files."""
    quiet_node()
    with tempfile.TemporaryDirectory(prefix="nerloop-round-") as scratch:
        work = Path(scratch)
        base_source = base_on_node(job.base_name, job.base_files, job.settings, work / "base")
        events: queue.Queue[TrainEvent | None] = queue.Queue()
        outcome: dict[str, Any] = {}

        def train() -> None:
            try:
                outcome["result"] = fine_tune(job.train, job.validation, config=job.config, settings=job.settings,
                                              output_dir=work / "out", base_source=base_source, progress=events.put)
            except BaseException as exc:  # re-raised in the task below, so Ray reports it
                outcome["error"] = exc
            finally:
                events.put(None)

        thread = threading.Thread(target=train, name="fine-tune")
        thread.start()
        last_step = 0.0
        while (event := events.get()) is not None:
            if event.kind != "step" or time.monotonic() - last_step > 1.0:  # steps at most once a second
                last_step = time.monotonic()
                yield "event", event
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        result: FineTuneResult = outcome["result"]
        where = {**where_it_ran(), "work_dir": scratch}
        log.info("sending the trained model back from %s", where["host"])
        yield "result", TrainedRemotely(FolderFiles.read(result.model_dir), result.device, result.best_f1,
                                        result.best_checkpoint, result.history, result.steps, result.seconds,
                                        result.windows, where)


def ray_fine_tune(cluster: RaySettings, name: str = "nerloop-round") -> FineTune:
    """``fine_tune`` that trains on the cluster and writes the checked model to ``output_dir/model`` here;
    ``name`` is the task's name on Ray's dashboard."""

    def fine_tune_on_cluster(train: Sequence[Sentence], validation: Sequence[Sentence], *, config: LabelConfig,
                             settings: TrainSettings, output_dir: str | Path, base_source: str,
                             progress: Progress | None = None) -> FineTuneResult:
        settings = settings_for_cluster(settings, cluster)
        base_name, base_files = base_for_job(settings, base_source)
        job = TrainJob(tuple(train), tuple(validation), config, settings, base_name, base_files)
        started = time.perf_counter()
        trained: TrainedRemotely = run_task(train_on_worker, job, settings=cluster, what="the round's training",
                                            name=name, on_event=progress)
        model_dir = Path(output_dir) / "model"
        trained.files.write_checked(model_dir, came_from=f"the Ray cluster at {cluster.address}",
                                    required=REQUIRED_FILES)
        wall = time.perf_counter() - started
        log.info("the model came back from %s (%.1f MiB, %d files); %.1f s on the cluster, of which %.1f s training",
                 trained.where.get("host"), trained.files.size / 2**20, len(trained.files.files), wall,
                 trained.seconds)
        executor = {"kind": "ray", "address": cluster.address, **trained.where, "device": trained.device.kind,
                    "gpu": trained.device.name if trained.device.kind == "cuda" else None,
                    "resources": {"num_cpus": cluster.num_cpus, "num_gpus": cluster.num_gpus,
                                  "memory_gb": cluster.memory_gb},
                    "wall_s": round(wall, 3), "dispatch_s": round(wall - trained.seconds, 3),
                    "base_model_sent": "files" if base_files else "name",
                    "model_bytes": trained.files.size}
        return FineTuneResult(model_dir, trained.device, trained.best_f1, trained.best_checkpoint, trained.history,
                              trained.steps, trained.seconds, True, trained.windows, executor)

    return fine_tune_on_cluster


def fine_tune_for(executor: str, cluster: RaySettings, name: str = "nerloop-round") -> FineTune:
    """The fine-tune function of an executor setting: ``local`` trains in this process, ``ray`` on the cluster."""
    return ray_fine_tune(cluster, name) if executor == "ray" else fine_tune
