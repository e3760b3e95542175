"""The settings every edge shares, read from the environment (``NERLOOP_*``) once and passed down.

``TrainSettings`` are the typed, frozen hyperparameters and switches of one training round (stored in its
manifest). ``SharedSettings`` holds the fields the CLI (``nerloop.settings.Settings``) and the backend
(``backend.settings.BackendSettings``) both read: the registry, the work dir, the label config, the fixed test
file, the Label Studio connection, the reports folder, the served runtime, how annotations become splits, and the
training settings. Each edge builds its settings once (the CLI's callback, the backend's ``create_app``) and adds
its own fields. ``shared_env`` is the one mapping of the shared fields back to ``NERLOOP_*`` variables, used
wherever a child process must see the same settings: a round started by the backend, the backend started by
``nerloop up``, the server started by ``nerloop serve``. The API key reaches a child **through its environment**,
never its command line, and is never logged. ``explain_invalid`` turns a bad value into one line naming the
variable.

Label Studio's own names are accepted for the connection (``LABEL_STUDIO_URL``, ``LABEL_STUDIO_API_KEY``).
Training defaults are chosen for the MIT Restaurant scale (a few thousand short queries) and the offline MiniLM-L6
encoder as well as DistilBERT: see ``learning_rate`` for why one value serves both.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.window import DEFAULT_STRIDE, TRAINING_MAX_LENGTH
from labeling_config import RESTAURANT_CONFIG

DEFAULT_BASE_MODEL = "distilbert-base-uncased"
MINILM_ALIAS = "minilm"


class TrainSettings(BaseModel):
    """Everything that decides what a round learns; stored in the round's manifest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_model: str = Field(DEFAULT_BASE_MODEL,
                            description="Hub id, local folder, or 'minilm' (the offline all-MiniLM-L6-v2 encoder).")
    epochs: float = Field(3, gt=0)
    # 5e-5 is the usual DistilBERT/BERT fine-tuning value; MiniLM-L6 (6 small layers, 384 wide) learns slowly at
    # that rate and reaches its best MIT F1 around 1e-4, so `resolved_learning_rate` picks 1e-4 for it when unset.
    learning_rate: float | None = Field(None, gt=0, description="None: 1e-4 for MiniLM, 5e-5 otherwise.")
    batch_size: int = Field(16, ge=1)
    # Both off by default: on the full MIT round they save time but cost F1 over three seeds (bench/schedule.py,
    # docs/benchmarks.md "Training schedule").
    length_grouped: bool = Field(False, description="Batch texts of similar length together (random groups of 50 "
                                                    "batches, sorted by length): fewer padded sub-tokens a step.")
    weight_decay: float = Field(0.01, ge=0)
    freeze_word_embeddings: bool = Field(False, description="Keep the base model's word-piece embeddings as they "
                                                            "are: no gradient or optimizer state for the vocabulary.")
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    # The window is a property of the round: training cuts long texts with it, and it is saved with the model
    # (model/window.json) so evaluation and serving cut texts the same way (inference.windows).
    max_length: int = Field(TRAINING_MAX_LENGTH, ge=8, le=4096,
                            description="Sub-tokens per model window, special tokens included; longer texts are cut "
                                        "into overlapping windows.")
    stride: int = Field(DEFAULT_STRIDE, ge=0, description="Sub-tokens of overlap between the windows of a long text "
                                                          "(capped at half a window).")
    seed: int = 42
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16"] = Field("auto", description="auto: bf16 mixed precision on a GPU or "
                                                      "CPU (AVX512-BF16 or AMX) that has it natively, fp16 on an "
                                                      "older GPU, else fp32.")
    label_all_subtokens: bool = False
    promote_tolerance: float = Field(0.005, ge=0, description="Max drop in test micro F1 that still promotes.")
    # Warm starts are the default because bench/active.py measured them ahead in every simulated round.
    init_from: Literal["base", "current"] = Field("current", description="current: the served round's weights "
                                                  "when its labels and base model match; base: the base model.")
    eval_every: Literal["epoch"] | int = Field("epoch", description="'epoch' or a number of optimizer steps.")
    logging_steps: int = Field(50, ge=1)
    num_threads: int | None = Field(None, ge=1, description="CPU threads; None: all cores the process may use.")

    @property
    def is_minilm(self) -> bool:
        return self.base_model == MINILM_ALIAS

    @property
    def resolved_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 1e-4 if self.is_minilm else 5e-5


class RaySettings(BaseModel):
    """Where rounds run when ``executor`` is ``ray``, and what one round (or audit fold) asks the cluster for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: str | None = Field(None, description="The cluster's GCS address (head:6379), or a Ray Client address "
                                                  "(ray://head:10001).")
    num_cpus: float = Field(1, gt=0, description="CPUs one round's training asks for (also its torch threads).")
    num_gpus: float = Field(0, ge=0, description="GPUs one round's training asks for (0: train on CPUs).")
    memory_gb: float | None = Field(None, gt=0, description="Memory one round's training asks for, in GiB.")
    timeout: float = Field(6 * 3600, gt=0, description="Seconds a round's training may take on the cluster, "
                                                       "queueing included; then it is cancelled and the round fails.")
    connect_timeout: float = Field(10, gt=0, description="Seconds to wait for the cluster to answer.")
    parallel_rounds: int = Field(4, ge=1, description="Rounds of different projects the backend runs at once.")

    @field_validator("address", mode="before")
    @classmethod
    def _empty_address_means_none(cls, value: object) -> object:
        return None if value == "" else value


PREFIX = "NERLOOP_"


class SharedSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_nested_delimiter="__", frozen=True, extra="ignore")

    models_dir: Path = Field(Path("models"), description="Projects and their rounds (project-<id>/round-NNNN).")
    work_dir: Path = Field(Path(".nerloop"), description="Exports, splits, logs, pids and Label Studio's data.")
    label_config: Path = Field(RESTAURANT_CONFIG, description="Label Studio labeling config (XML) of file rounds.")
    test_file: Path | None = Field(None, description="Fixed test split (TAG<TAB>token) for projects that set none "
                                                     "in their project.json; unset: a frozen hash split of the "
                                                     "annotations is the test split.")
    studio_url: str = Field("http://127.0.0.1:8080",
                            validation_alias=AliasChoices("NERLOOP_STUDIO_URL", "LABEL_STUDIO_URL", "studio_url"))
    studio_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("NERLOOP_STUDIO_API_KEY", "LABEL_STUDIO_API_KEY", "studio_api_key"))
    reports_dir: Path | None = Field(None, description="Every round also copies its report (html, md, json) to "
                                                       "<reports_dir>/project-<id>/<round>/.")
    runtime: Literal["torch", "onnx"] = Field("torch", description="What the backend serves; with 'onnx' a round "
                                                                   "exports model.onnx before it is promoted.")
    onnx_quantize: bool = Field(False, description="With runtime=onnx: int8 dynamic quantization.")
    precision: Literal["fp32", "bf16"] = Field("fp32", description="With runtime=torch: the forward pass; bf16 "
                                                                   "(autocast) is fast on CPUs with AVX512-BF16 or "
                                                                   "AMX and on recent GPUs, emulated elsewhere.")
    # 16, not 32: a 100-task request then makes 7 passes that two one-thread passes share evenly (bench/passes.py).
    batch_size: int = Field(16, ge=1, le=4096, description="Model inputs (word windows) per forward pass.")
    max_text_chars: int = Field(200_000, ge=1, description="Longer task texts get an empty result (logged).")
    torch_threads: int = Field(0, ge=0, description="Threads the served model runs on (torch and onnxruntime); "
                                                    "0 = all cores.")
    parallel_passes: int = Field(0, ge=0, description="Forward passes run at once, sharing the threads; 0: one "
                                                      "one-thread pass per thread (on a CPU, two one-thread passes do "
                                                      "more than one two-thread pass); 1: one pass on all threads.")
    single_thread_below: int = Field(256, ge=0, description="Batches with fewer sub-tokens run on one thread.")
    annotation_policy: str = Field("newest", description="Which annotation of a task to train on.")
    order_tab: bool = Field(True, description="Keep the Data Manager tab 'nerloop: most useful first' on each Label "
                                              "Studio project served (needs the API key).")
    split_ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    split_seed: int = Field(0, description="Seed of the learning curve's nested fractions and the audit's folds "
                                           "(splits are hashed).")
    train: TrainSettings = Field(default_factory=TrainSettings)
    executor: Literal["local", "ray"] = Field("local", description="Where rounds train: 'local' (this machine, one "
                                                                  "round at a time) or 'ray' (a Ray cluster).")
    ray: RaySettings = Field(default_factory=RaySettings)

    @field_validator("test_file", "reports_dir", mode="before")
    @classmethod
    def _empty_means_none(cls, value: object) -> object:
        """An empty value turns the option off (``NERLOOP_TEST_FILE=''``, ``NERLOOP_REPORTS_DIR=''``)."""
        return None if value == "" else value

    @property
    def threads(self) -> int:
        return self.torch_threads or os.cpu_count() or 1

    @property
    def passes(self) -> int:
        return min(self.parallel_passes or self.threads, self.threads)

    def runtime_options(self) -> dict[str, Any]:
        """How a served round runs: ``inference.loader.load_round``'s keyword arguments."""
        return {"runtime": self.runtime, "threads": self.threads, "passes": self.passes, "batch_size": self.batch_size,
                "onnx_quantize": self.onnx_quantize, "single_thread_below": self.single_thread_below,
                "precision": self.precision}

    @property
    def api_key(self) -> str | None:
        return self.studio_api_key.get_secret_value() if self.studio_api_key else None

    def shared_env(self) -> dict[str, str]:
        """The ``NERLOOP_*`` variables that give a child process exactly these shared settings."""
        env: dict[str, str] = {}
        for name in SharedSettings.model_fields:
            _to_env(env, f"{PREFIX}{name.upper()}", getattr(self, name))
        return env


def _to_env(env: dict[str, str], key: str, value: Any) -> None:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _to_env(env, f"{key}__{name.upper()}", getattr(value, name))
        return
    if value is None:
        if "__" in key:
            return  # a nested default of None (e.g. train.learning_rate) is the field's default: leave it unset
        env[key] = ""
    elif isinstance(value, SecretStr):
        env[key] = value.get_secret_value()
    elif isinstance(value, Path):
        env[key] = str(value.resolve())
    elif isinstance(value, bool):
        env[key] = "true" if value else "false"
    elif isinstance(value, list | tuple | dict):
        env[key] = json.dumps(value)
    else:
        env[key] = str(value)


def explain_invalid(exc: ValidationError, settings_class: type[BaseModel]) -> str:
    """One line for the first invalid setting: the variable, the value found and what is expected."""
    first = exc.errors()[0]
    loc = [str(part) for part in first.get("loc", ())]
    if not loc:
        return f"invalid settings: {first['msg'].removeprefix('Value error, ')}"
    field = settings_class.model_fields.get(loc[0])
    alias = getattr(field, "validation_alias", None) if field else None
    names = [c for c in getattr(alias, "choices", []) if isinstance(c, str) and c.isupper()] if alias else []
    variable = " (or ".join(names) + ")" * (len(names) - 1) if names else PREFIX + "__".join(p.upper() for p in loc)
    return (f"invalid setting {variable}={first.get('input')!r}: {first['msg'].removeprefix('Value error, ')}; "
            f"fix or unset the variable")
