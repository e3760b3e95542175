"""The one settings object of the CLI edge: the shared settings (``backend.settings.SharedSettings``: registry,
connection, test file, runtime, training) plus the CLI's own, from the environment (``NERLOOP_*``) and the
command line, validated once.

Label Studio's own variable names are accepted too (``LABEL_STUDIO_URL``, ``LABEL_STUDIO_API_KEY``), since that is
what docker-compose and Label Studio users already set. The API key is a SecretStr: it never appears in logs.
Per-project settings (``models/project-<id>/project.json``) override these for that project's rounds.
"""

from __future__ import annotations

from pydantic import Field

from backend.settings import SharedSettings
from nerloop.demo import MIT_DIR


class Settings(SharedSettings):
    project_title: str = Field("Restaurant reviews", description="Project that `nerloop up` creates or reuses.")
    annotation_policy: str = Field("newest", description="Which annotation of a task to train on.")
    split_ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    split_seed: int = Field(0, description="Seed of the learning curve's nested fractions (splits are hashed).")


__all__ = ["MIT_DIR", "Settings"]
