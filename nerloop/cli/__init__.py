"""The ``nerloop`` command: one module per command, each a few lines over a library function.

Errors from the library (``NerloopError``) become one line on stderr and exit code 1; nothing else catches them.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from labeling_config.errors import NerloopError
from nerloop.settings import Settings


class _ErrorsAsOneLine(TyperGroup):
    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except NerloopError as err:
            typer.secho(f"error: {err}", err=True, fg=typer.colors.RED)
            raise typer.Exit(1) from err


app = typer.Typer(cls=_ErrorsAsOneLine, no_args_is_help=True, add_completion=False,
                  help="Teach a transformer your entities with people in the loop.")


@app.callback()
def _settings(
    ctx: typer.Context,
    models_dir: Annotated[Path | None, typer.Option(help="Registry of rounds (env NERLOOP_MODELS_DIR).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Build the one settings object (environment + options) that every command receives."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:  # one line per HTTP request to Label Studio is noise unless debugging
        logging.getLogger("httpx").setLevel(logging.WARNING)
    overrides = {"models_dir": models_dir} if models_dir else {}
    ctx.obj = Settings(**overrides)


# Each module registers its commands on `app` when imported.
COMMAND_MODULES = ("config", "convert", "train", "evaluate", "report", "round", "rounds", "curve", "serve", "stack",
                   "agreement", "audit")
for _name in COMMAND_MODULES:
    importlib.import_module(f"nerloop.cli.{_name}")


def main() -> None:
    app()
