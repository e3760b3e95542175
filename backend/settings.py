"""The backend's one settings object: environment (``NERLOOP_*``) read once at the edge and passed down.

Label Studio's own names are accepted for the connection (``LABEL_STUDIO_URL``, ``LABEL_STUDIO_API_KEY``). The URL,
the API key and the models directory reach a training round **through its environment** (``round_env``), never on
its command line; the key is a SecretStr and is never logged.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_round_command() -> list[str]:
    return [sys.executable, "-m", "nerloop", "round"]


class BackendSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NERLOOP_", frozen=True, extra="ignore")

    models_dir: Path = Field(Path("models"), description="Registry of rounds (round-NNNN folders + current).")
    retrain_every: int = Field(10, ge=0, description="Start a round every N annotation events per project; "
                                                     "0 = only when Label Studio's Train button is pressed.")
    round_command: list[str] = Field(default_factory=_default_round_command,
                                     description="Command that runs one round; the backend appends --project ID.")
    log_dir: Path | None = Field(None, description="Where round logs go (default: <models_dir>/logs).")
    studio_url: str | None = Field(
        None, validation_alias=AliasChoices("NERLOOP_STUDIO_URL", "LABEL_STUDIO_URL", "studio_url"))
    studio_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("NERLOOP_STUDIO_API_KEY", "LABEL_STUDIO_API_KEY", "studio_api_key"))
    basic_auth_user: str | None = Field(None, description="Require HTTP basic auth (Label Studio's BASIC_AUTH).")
    basic_auth_password: SecretStr | None = None
    batch_size: int = Field(32, ge=1, le=4096, description="Model inputs (word windows) per forward pass.")
    max_text_chars: int = Field(200_000, ge=1, description="Longer task texts get an empty result (logged).")
    runtime: Literal["torch", "onnx"] = "torch"
    onnx_quantize: bool = Field(False, description="With runtime=onnx: int8 dynamic quantization.")
    torch_threads: int = Field(0, ge=0, description="torch/onnxruntime intra-op threads; 0 = all cores.")
    single_thread_below: int = Field(256, ge=0, description="Batches with fewer sub-tokens run on one thread.")
    watch_interval: float = Field(1.0, gt=0, description="Seconds between checks of the `current` pointer.")
    load_wait: float = Field(60.0, ge=0, description="Seconds /predict waits for the first model load.")

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
        """The environment of a round subprocess: ours plus the connection settings (secrets stay off argv)."""
        env = dict(os.environ)
        env["NERLOOP_MODELS_DIR"] = str(self.models_dir)
        env["NERLOOP_RUNTIME"] = self.runtime  # the round exports ONNX before promoting when that is served
        env["NERLOOP_ONNX_QUANTIZE"] = str(self.onnx_quantize).lower()
        if self.studio_url:
            env["NERLOOP_STUDIO_URL"] = self.studio_url
        if self.studio_api_key is not None:
            env["NERLOOP_STUDIO_API_KEY"] = self.studio_api_key.get_secret_value()
        return env
