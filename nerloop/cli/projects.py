"""``nerloop projects`` lists the projects of the models directory; ``nerloop project set`` edits one's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.errors import NerloopError
from core.project import ProjectRef
from nerloop.cli import app
from store import projects
from store.registry import current_name

project_app = typer.Typer(no_args_is_help=True, help="A project's settings (models/project-<id>/project.json).")
app.add_typer(project_app, name="project")


@app.command("projects")
def projects_command(ctx: typer.Context) -> None:
    """Each project: its served round, its settings and its last round's outcome."""
    models_dir = ctx.obj.models_dir
    names = projects.list_projects(models_dir)
    if not names:
        typer.echo(f"no projects in {models_dir}")
        return
    table = Table(title=f"projects in {models_dir}")
    for column in ("project", "served", "settings", "last round"):
        table.add_column(column)
    broken: list[str] = []
    for name in names:
        try:
            record = projects.read_project(models_dir, name)
        except NerloopError as err:  # one broken project.json must not hide the other projects
            table.add_row(name, "?", "unreadable project.json (below)", "?")
            broken.append(f"project {name}: {err}")
            continue
        chosen = record.settings.model_dump(exclude_none=True) if record else {}
        last = projects.last_round(record) or {}
        table.add_row(name, current_name(projects.project_dir(models_dir, name)) or "-",
                      ", ".join(f"{k}={v}" for k, v in chosen.items()) or "-",
                      f"{last.get('status', '-')} {last.get('round', '')} {last.get('finished', '')}".strip())
    Console(width=160).print(table)
    for line in broken:
        typer.echo(line)
    if broken:
        raise typer.Exit(1)


@project_app.command("set")
def set_command(
    ctx: typer.Context,
    project: Annotated[ProjectRef, typer.Argument(parser=ProjectRef.parse, metavar="PROJECT",
                                                  help="A Label Studio project id or a project name.")],
    base_model: Annotated[str | None, typer.Option(help="Hub id, local folder, or 'minilm'.")] = None,
    epochs: Annotated[float | None, typer.Option(help="Training epochs.")] = None,
    learning_rate: Annotated[float | None, typer.Option(help="Learning rate.")] = None,
    test_file: Annotated[str | None, typer.Option(help="Fixed test split (TAG<TAB>token); '' for none.")] = None,
    retrain_every: Annotated[int | None, typer.Option(help="Annotation events per automatic round (0: Train "
                                                           "button only).")] = None,
    unset: Annotated[list[str] | None, typer.Option(help="A setting to remove (repeatable).")] = None,
) -> None:
    """Set a project's own settings (they override NERLOOP_* for its rounds); validated before writing."""
    changes = {k: v for k, v in {"base_model": base_model, "epochs": epochs, "learning_rate": learning_rate,
                                 "retrain_every": retrain_every}.items() if v is not None}
    if test_file is not None:
        changes["test_file"] = str(Path(test_file).resolve()) if test_file else ""
    changes.update({name: None for name in unset or []})
    record = projects.update_settings(ctx.obj.models_dir, project, **changes)
    path = projects.project_dir(ctx.obj.models_dir, record.project) / projects.PROJECT_FILE
    typer.echo(f"project {record.project}: {record.settings.model_dump(exclude_none=True)} ({path})")
