"""The backend's settings: the shared ones (``store.settings.SharedSettings``) plus the server's own, read from
the environment once in ``create_app`` and passed down."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator

from store.settings import SharedSettings


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
    allow_unauthenticated: bool = Field(False, description="Serve on an address beyond loopback without basic auth "
                                                           "(backend.exposure refuses to otherwise).")
    watch_interval: float = Field(1.0, gt=0, description="Seconds between checks of the `current` pointer.")
    load_wait: float = Field(60.0, ge=0, description="Seconds /predict waits for a project's model to load.")
    max_models: int = Field(4, ge=1, description="Projects' models kept in memory; the least recently used goes.")
    max_projects: int = Field(256, ge=1, description="Projects tracked at once: label configs from /setup, annotation "
                                                     "counters, queued rounds; the least recently used idle one goes.")
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

    def round_env(self) -> dict[str, str]:
        """The environment of a round subprocess: ours plus the shared settings (secrets stay off argv)."""
        return {**os.environ, **self.shared_env()}
