"""One version: declared in pyproject.toml, read back from the installed distribution by the CLI and the backend."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backend.app import create_app
from backend.settings import BackendSettings
from nerloop.cli import app

ROOT = Path(__file__).resolve().parents[2]


def declared_version() -> str:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def test_nerloop_version_prints_the_declared_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    # A mismatch here in a development checkout means its install is stale: pip install -e . refreshes it.
    assert result.output == f"nerloop {declared_version()}\n"


def test_the_backends_openapi_version_is_the_same_one(tmp_path: Path):
    backend = create_app(BackendSettings(models_dir=tmp_path, round_command=["true"]))
    assert backend.version == declared_version()


def test_no_module_writes_the_version_down_again():
    version = re.escape(declared_version())
    pattern = re.compile(rf"""["']{version}["']""")  # a string that is just the version
    packages = ("core", "labeling_config", "store", "converters", "inference", "training", "quality", "backend",
                "stack", "nerloop")
    sources = [p for package in packages for p in (ROOT / package).rglob("*.py")]
    assert [str(p.relative_to(ROOT)) for p in sources if pattern.search(p.read_text(encoding="utf-8"))] == []
