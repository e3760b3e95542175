"""The demo corpus shipped inside the package: the MIT Restaurant corpus (``mit_restaurant/``, with SOURCE.md).

Found through ``importlib.resources``, so it is there wherever nerloop is installed (a clone, a wheel, the Docker
image), never relative to the current directory or the source tree.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

MIT_DIR = Path(str(files(__name__) / "mit_restaurant"))
MIT_TRAIN = MIT_DIR / "train.bio"
MIT_TEST = MIT_DIR / "test.bio"
