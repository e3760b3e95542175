"""The one settings object of the CLI edge: the shared settings (``store.settings.SharedSettings``: registry,
connection, test file, runtime, splits, training) plus the CLI's own, from the environment (``NERLOOP_*``) and the
command line, validated once.

Label Studio's own variable names are accepted too (``LABEL_STUDIO_URL``, ``LABEL_STUDIO_API_KEY``), since that is
what docker-compose and Label Studio users already set. The API key is a SecretStr: it never appears in logs.
Per-project settings (``models/project-<id>/project.json``) override these for that project's rounds.
"""

from __future__ import annotations

from pydantic import Field

from nerloop.demo import MIT_DIR
from store.settings import SharedSettings


class Settings(SharedSettings):
    project_title: str = Field("Restaurant reviews", description="Project that `nerloop up` creates or reuses.")


__all__ = ["MIT_DIR", "Settings"]
