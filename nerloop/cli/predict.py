"""``nerloop predict --project ID``: pre-annotate a whole project in bulk (resumable; a rerun adds nothing)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from core.project import ProjectRef
from nerloop.cli import app
from nerloop.cli.progress import quiet_transformers
from nerloop.pre_annotation import pre_annotate


@app.command("predict")
def predict_command(
    ctx: typer.Context,
    project: Annotated[ProjectRef, typer.Option(parser=ProjectRef.parse, metavar="ID",
                                                help="Label Studio project id.")],
    round_name: Annotated[str, typer.Option("--round", help="The project's round to predict with (its "
                                                            "model_version).")] = "current",
    unlabeled_only: Annotated[bool, typer.Option("--unlabeled-only", help="Only tasks without annotations.")] = False,
    view: Annotated[int | None, typer.Option(help="Only the tasks of this Data Manager view (tab) id.")] = None,
    tasks: Annotated[str | None, typer.Option(help="Only these task ids, comma-separated.")] = None,
    chunk: Annotated[int | None, typer.Option(min=1, help="Predictions stored per request; default: a sixteenth of "
                                                          "the project, 256 to 4,096.")] = None,
) -> None:
    """Store a prediction of the project's served round on every task that has none of it yet."""
    quiet_transformers()
    project_id = project.require_studio()
    ids = [int(t) for t in tasks.split(",") if t.strip()] if tasks else None
    columns = (TextColumn("tasks"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        handle = bar.add_task("tasks", total=None, rate="")

        def progress(done: int, total: int) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = f"{done / elapsed:.0f} tasks/s" if elapsed > 0 else ""
            bar.update(handle, completed=done, total=total, rate=rate)

        outcome = pre_annotate(ctx.obj, project_id, round_name=round_name, unlabeled_only=unlabeled_only, view=view,
                                task_ids=ids, chunk=chunk, progress=progress, say=lambda m: typer.echo(m, err=True))
    repaired = f", {outcome.duplicates} repeated prediction(s) removed" if outcome.duplicates else ""
    typer.echo(f"project {project}: {outcome.predicted} task(s) predicted, {outcome.skipped} skipped "
               f"(already predicted by this round, or not chosen){repaired}, in {outcome.seconds:.1f} s")
