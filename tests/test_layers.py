"""The layering the README promises, enforced: labeling_config -> converters -> inference -> training -> backend ->
nerloop import only downward, and no package has an import cycle between its modules (import-linter contracts in
pyproject.toml)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_packages_import_only_downward_and_without_cycles() -> None:
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert command is not None, "import-linter is not installed: pip install 'nerloop[dev]' (or import-linter)"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([command, "--no-cache"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout
