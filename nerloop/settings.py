"""The one settings object of the CLI edge: environment (``NERLOOP_*``) + command-line options, validated once.

Label Studio's own variable names are accepted too (``LABEL_STUDIO_URL``, ``LABEL_STUDIO_API_KEY``), since that is
what docker-compose and Label Studio users already set. The API key is a SecretStr: it never appears in logs.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from labeling_config import RESTAURANT_CONFIG

REPO_ROOT = Path(__file__).resolve().parent.parent
MIT_DIR = REPO_ROOT / "data" / "mit_restaurant"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NERLOOP_", frozen=True, extra="ignore")

    models_dir: Path = Field(Path("models"), description="Registry of rounds (round-NNNN folders + current).")
    work_dir: Path = Field(Path(".nerloop"), description="Exports, splits, logs, pids and Label Studio's data.")
    label_config: Path = Field(RESTAURANT_CONFIG, description="Label Studio labeling config (XML).")
    test_file: Path | None = Field(MIT_DIR / "test.bio",
                                   description="Fixed test split (TAG<TAB>token) so rounds stay comparable.")
    studio_url: str = Field("http://127.0.0.1:8080",
                            validation_alias=AliasChoices("NERLOOP_STUDIO_URL", "LABEL_STUDIO_URL", "studio_url"))
    studio_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("NERLOOP_STUDIO_API_KEY", "LABEL_STUDIO_API_KEY", "studio_api_key"))
