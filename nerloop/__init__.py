"""nerloop: rounds, the Label Studio client, the local stack and the CLI.

``__version__`` is the installed distribution's version, declared once, in pyproject.toml's ``[project]`` table.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nerloop")
except PackageNotFoundError:  # imported from a source tree that was never installed (pip install -e . fixes it)
    __version__ = "0+unknown"
