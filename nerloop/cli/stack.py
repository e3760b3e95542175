"""``nerloop up`` / ``nerloop down`` / ``nerloop status``: the local Label Studio + ML backend loop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nerloop.cli import app
from nerloop.cli.progress import training_progress
from nerloop.local_loop import StackOptions, down, up
from stack.record import login_path, read_state, state_path


@app.command("up")
def up_command(
    ctx: typer.Context,
    studio_port: Annotated[int, typer.Option(help="Label Studio port (an error if busy).")] = 8080,
    backend_port: Annotated[int, typer.Option(help="ML backend port (an error if busy).")] = 9090,
    tasks: Annotated[int, typer.Option(help="Sentences to import from the corpus as tasks.")] = StackOptions.tasks,
    gold: Annotated[int, typer.Option(help="Of those, how many are imported with their annotations (0: no first "
                                           "round until you annotate).")] = StackOptions.gold,
    corpus: Annotated[Path, typer.Option(help="TAG<TAB>token corpus to import.")] = StackOptions.corpus,
    base_model: Annotated[str | None, typer.Option(help="Base model for the first round.")] = None,
) -> None:
    """Start Label Studio and the ML backend, prepare the project, train round 1, print the URL and login."""
    settings = ctx.obj
    if base_model:
        settings = settings.model_copy(update={"train": settings.train.model_copy(update={"base_model": base_model})})
    options = StackOptions(studio_port=studio_port, backend_port=backend_port, tasks=tasks, gold=gold, corpus=corpus)
    with training_progress() as progress:
        info = up(settings, options, say=typer.echo, progress=progress)
    here = Path.cwd()
    typer.echo(f"\nLabel Studio: {info.studio_url}/projects/{info.project_id}\n"
               f"login:        {info.username} / {info.password}\n"
               f"ML backend:   {info.backend_url} (serving {info.model_version or 'no model yet'})\n"
               f"stop with:    nerloop down\n"
               f"other shells and cron: run nerloop in {here}: it takes Label Studio's URL and API key from "
               f"{state_path(settings.work_dir)} (e.g. cd {here} && nerloop round --project {info.project_id});\n"
               f"elsewhere:    NERLOOP_STUDIO_URL={info.studio_url} and NERLOOP_STUDIO_API_KEY=<the token in "
               f"{login_path(settings.work_dir)}>")


@app.command("down")
def down_command(ctx: typer.Context) -> None:
    """Stop the Label Studio and ML backend processes that `nerloop up` started."""
    if not down(ctx.obj, say=typer.echo):
        typer.echo("nothing to stop (no stack recorded in the work dir)")


@app.command("status")
def status_command(ctx: typer.Context) -> None:
    """Show what `nerloop up` started."""
    info = read_state(ctx.obj.work_dir)
    if info is None:
        typer.echo("not running (no stack recorded in the work dir)")
        raise typer.Exit(1)
    project = info.project_id if info.project_id is not None else "not created yet"
    backend = f"{info.backend_url} (pid {info.backend_pid})" if info.backend_pid else "not started"
    typer.echo(f"Label Studio {info.studio_url} (pid {info.studio_pid}), project {project}\n"
               f"ML backend {backend}, model {info.model_version or 'none'}")
