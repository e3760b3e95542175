"""The ``nerloop`` command: one module per command, each a few lines over a library function.

Errors from the library (``NerloopError``) become one line on stderr and exit code 1; nothing else catches them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr, ValidationError
from typer.core import TyperGroup

from core.errors import NerloopError
from core.project import ProjectRef
from nerloop import __version__
from nerloop.settings import Settings
from stack.record import stack_connection
from store.projects import migrate_flat_registry
from store.settings import explain_invalid

# --project on every command: one type (core.project.ProjectRef), parsed once here. A bad value is one error line.
PROJECT_HELP = "A Label Studio project id, or a name for file-based rounds (default: 'default')."
ProjectOption = Annotated[ProjectRef | None, typer.Option("--project", parser=ProjectRef.parse, metavar="ID|NAME",
                                                         help=PROJECT_HELP)]
# Every command that reads an export file: the labels it was made with; every command that trains: the base model.
ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help="Label Studio labeling config (XML) of an export file (default: NERLOOP_LABEL_CONFIG).")]
BaseModelOption = Annotated[str | None, typer.Option(
    "--base-model", help="Hub id, local folder, or 'minilm' (offline); default: the project's, then "
                         "NERLOOP_TRAIN__BASE_MODEL.")]
StudioProjectOption = Annotated[ProjectRef | None, typer.Option("--project", parser=ProjectRef.parse, metavar="ID",
                                                               help="A Label Studio project id.")]


class _ErrorsAsOneLine(TyperGroup):
    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except NerloopError as err:
            typer.secho(f"error: {err}", err=True, fg=typer.colors.RED)
            raise typer.Exit(1) from err


app = typer.Typer(cls=_ErrorsAsOneLine, no_args_is_help=True, add_completion=False,
                  help="Teach a transformer your entities with people in the loop.")


# The commands that talk to Label Studio: in a folder where `nerloop up` runs, they use the stack it started.
STUDIO_COMMANDS = frozenset({"round", "predict", "curve", "agreement", "audit"})


def with_stack_connection(settings: Settings, say: Callable[[str], None]) -> Settings:
    """``settings`` with the Label Studio URL and API key of the stack recorded in the work dir, for each of the
    two that the environment does not set (the environment wins); says which Label Studio it uses."""
    found = stack_connection(settings.work_dir)
    if found is None:
        return settings
    update: dict[str, Any] = {}
    if "studio_url" not in settings.model_fields_set:
        update["studio_url"] = found.url
    if "studio_api_key" not in settings.model_fields_set and found.token and \
            update.get("studio_url", settings.studio_url).rstrip("/") == found.url.rstrip("/"):
        update["studio_api_key"] = SecretStr(found.token)
    if update:
        taken = " and its API key" if "studio_api_key" in update else ""
        say(f"Label Studio {update.get('studio_url', settings.studio_url)}{taken} (from {found.record})")
    return settings.model_copy(update=update) if update else settings


def with_config(settings: Settings, config: Path | None) -> Settings:
    """``settings`` reading export files with the labeling config ``config`` (when given)."""
    return settings.model_copy(update={"label_config": config}) if config is not None else settings


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"nerloop {__version__}")
        raise typer.Exit()


@app.callback()
def _settings(
    ctx: typer.Context,
    models_dir: Annotated[Path | None, typer.Option(help="Registry of rounds (env NERLOOP_MODELS_DIR).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print nerloop's version and exit.")] = False,
) -> None:
    """Build the one settings object (environment + options) that every command receives."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:  # one line per HTTP request to Label Studio is noise unless debugging
        logging.getLogger("httpx").setLevel(logging.WARNING)
    overrides = {"models_dir": models_dir} if models_dir else {}
    try:
        ctx.obj = Settings(**overrides)
    except ValidationError as exc:
        typer.secho(f"error: {explain_invalid(exc, Settings)}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    if ctx.invoked_subcommand in STUDIO_COMMANDS:
        ctx.obj = with_stack_connection(ctx.obj, say=lambda line: typer.echo(line, err=True))
    for line in migrate_flat_registry(ctx.obj.models_dir):
        typer.echo(f"migrated the flat registry to per-project folders: {line}", err=True)


# Each module registers its commands on `app` when imported.
COMMAND_MODULES = ("config", "convert", "train", "evaluate", "report", "rounds", "projects", "predict", "curve",
                   "serve", "stack", "agreement", "audit")
for _name in COMMAND_MODULES:
    importlib.import_module(f"nerloop.cli.{_name}")


def main() -> None:
    app()
