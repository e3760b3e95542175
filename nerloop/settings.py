"""The one settings object of the CLI edge: environment (``NERLOOP_*``) + command-line options, validated once.

Label Studio's own variable names are accepted too (``LABEL_STUDIO_URL``, ``LABEL_STUDIO_API_KEY``), since that is
what docker-compose and Label Studio users already set. The API key is a SecretStr: it never appears in logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from labeling_config import RESTAURANT_CONFIG
from nerloop.demo import MIT_DIR
from training.settings import TrainSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NERLOOP_", env_nested_delimiter="__", frozen=True, extra="ignore")

    models_dir: Path = Field(Path("models"), description="Registry of rounds (round-NNNN folders + current).")
    work_dir: Path = Field(Path(".nerloop"), description="Exports, splits, logs, pids and Label Studio's data.")
    label_config: Path = Field(RESTAURANT_CONFIG, description="Label Studio labeling config (XML).")
    test_file: Path | None = Field(MIT_DIR / "test.bio",
                                   description="Fixed test split (TAG<TAB>token) so rounds stay comparable.")
    studio_url: str = Field("http://127.0.0.1:8080",
                            validation_alias=AliasChoices("NERLOOP_STUDIO_URL", "LABEL_STUDIO_URL", "studio_url"))
    studio_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("NERLOOP_STUDIO_API_KEY", "LABEL_STUDIO_API_KEY", "studio_api_key"))
    reports_dir: Path | None = Field(None, description="Every `nerloop round` (from the CLI, cron or the Train "
                                                       "button) also copies its report (html, md, json) to "
                                                       "<reports_dir>/<round>/.")
    project_title: str = Field("Restaurant reviews", description="Project that `nerloop up` creates or reuses.")
    annotation_policy: str = Field("newest", description="Which annotation of a task to train on.")
    split_seed: int = 0
    split_ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    train: TrainSettings = Field(default_factory=TrainSettings)
    runtime: Literal["torch", "onnx"] = Field("torch", description="What the backend serves; with 'onnx' a round "
                                                                   "exports model.onnx before it is promoted.")
    onnx_quantize: bool = Field(False, description="With runtime=onnx: export the int8 model too.")

    @field_validator("test_file", "reports_dir", mode="before")
    @classmethod
    def _empty_means_none(cls, value: object) -> object:
        """An empty value turns the option off: ``NERLOOP_TEST_FILE=''`` cuts a test split from the export instead of
        using a fixed one, ``NERLOOP_REPORTS_DIR=''`` keeps reports in the round folders only."""
        return None if value == "" else value

    @property
    def api_key(self) -> str | None:
        return self.studio_api_key.get_secret_value() if self.studio_api_key else None
