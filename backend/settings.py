"""The settings both edges share, and the backend's own: environment (``NERLOOP_*``) read once and passed down.

``SharedSettings`` holds the fields the CLI (``nerloop.settings.Settings``) and the backend (``BackendSettings``)
both read: the registry, the work dir, the label config, the fixed test file, the Label Studio connection, the
reports folder, the served runtime and the training settings. ``shared_env`` is the one mapping of those fields
back to ``NERLOOP_*`` variables, used wherever a child process must see the same settings: a round started by
the backend, the backend started by ``nerloop up``, the server started by ``nerloop serve``. The API key reaches
a child **through its environment**, never its command line, and is never logged. ``explain_invalid`` turns a bad
value into one line naming the variable.

Label Studio's own names are accepted for the connection (``LABEL_STUDIO_URL``, ``LABEL_STUDIO_API_KEY``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from labeling_config import RESTAURANT_CONFIG
from training.settings import TrainSettings

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
    train: TrainSettings = Field(default_factory=TrainSettings)

    @field_validator("test_file", "reports_dir", mode="before")
    @classmethod
    def _empty_means_none(cls, value: object) -> object:
        """An empty value turns the option off (``NERLOOP_TEST_FILE=''``, ``NERLOOP_REPORTS_DIR=''``)."""
        return None if value == "" else value

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
        if key.startswith(f"{PREFIX}TRAIN__"):
            return  # a training default of None (e.g. learning_rate) is the field's default: leave it unset
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


def _default_round_command() -> list[str]:
    return [sys.executable, "-m", "nerloop", "round"]


class BackendSettings(SharedSettings):
    """The backend's settings: the shared ones plus the server's own."""

    retrain_every: int = Field(10, ge=0, description="Start a round every N annotation events per project; "
                                                     "0 = only when Label Studio's Train button is pressed.")
    round_command: list[str] = Field(default_factory=_default_round_command,
                                     description="Command that runs one round; the backend appends --project ID.")
    log_dir: Path | None = Field(None, description="Where round logs go (default: <models_dir>/logs).")
    basic_auth_user: str | None = Field(None, description="Require HTTP basic auth (Label Studio's BASIC_AUTH).")
    basic_auth_password: SecretStr | None = None
    batch_size: int = Field(32, ge=1, le=4096, description="Model inputs (word windows) per forward pass.")
    max_text_chars: int = Field(200_000, ge=1, description="Longer task texts get an empty result (logged).")
    torch_threads: int = Field(0, ge=0, description="torch/onnxruntime intra-op threads; 0 = all cores.")
    single_thread_below: int = Field(256, ge=0, description="Batches with fewer sub-tokens run on one thread.")
    watch_interval: float = Field(1.0, gt=0, description="Seconds between checks of the `current` pointer.")
    load_wait: float = Field(60.0, ge=0, description="Seconds /predict waits for a project's model to load.")
    max_models: int = Field(4, ge=1, description="Projects' models kept in memory; the least recently used goes.")
    refresh_predictions: bool = Field(False, description="After a promotion, refresh the stored predictions of the "
                                                         "project's unlabelled tasks in the background.")

    @model_validator(mode="after")
    def _consistent(self) -> BackendSettings:
        if self.basic_auth_user and not self.basic_auth_password:
            raise ValueError("NERLOOP_BASIC_AUTH_USER is set without NERLOOP_BASIC_AUTH_PASSWORD; Label Studio sends "
                             "basic auth only when both are set, so set both (or neither)")
        if self.runtime == "onnx" and importlib.util.find_spec("onnxruntime") is None:
            raise ValueError("NERLOOP_RUNTIME=onnx needs onnxruntime, which is not installed: "
                             "pip install 'nerloop[onnx]', or set NERLOOP_RUNTIME=torch")
        return self

    @field_validator("round_command")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("round_command is empty; expected e.g. [\"python\", \"-m\", \"nerloop\", \"round\"]")
        return value

    @property
    def round_log_dir(self) -> Path:
        return self.log_dir or self.models_dir / "logs"

    @property
    def threads(self) -> int:
        return self.torch_threads or os.cpu_count() or 1

    def round_env(self) -> dict[str, str]:
        """The environment of a round subprocess: ours plus the shared settings (secrets stay off argv)."""
        return {**os.environ, **self.shared_env()}
