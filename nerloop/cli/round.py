"""``nerloop round``: export → convert → train → evaluate → report → promote. Cron-friendly: no prompts,
non-zero exit on failure, a lock so two rounds never overlap."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nerloop.cli import app
from nerloop.cli.progress import training_progress
from nerloop.cli.train import print_result
from nerloop.round import run_round


@app.command("round")
def round_command(
    ctx: typer.Context,
    project: Annotated[int | None, typer.Option(help="Label Studio project id to export from.")] = None,
    export: Annotated[Path | None, typer.Option(help="Train from this export file (JSON, JSON_MIN, CONLL2003) "
                                                     "instead of a live project.")] = None,
    force: Annotated[bool, typer.Option(help="Promote even if the test F1 got worse.")] = False,
    base_model: Annotated[str | None, typer.Option(help="Override the base model (id, folder, or 'minilm').")] = None,
    epochs: Annotated[float | None, typer.Option(help="Override the number of epochs.")] = None,
    reports: Annotated[Path | None, typer.Option(help="Also copy the report (html, md, json) to REPORTS/<round>/ "
                                                      "(env NERLOOP_REPORTS_DIR).")] = None,
) -> None:
    """Run one training round and print the report path and the F1 delta against the last promoted round."""
    settings = ctx.obj
    overrides = {k: v for k, v in {"base_model": base_model, "epochs": epochs}.items() if v is not None}
    if overrides:
        settings = settings.model_copy(update={"train": settings.train.model_copy(update=overrides)})
    if reports is not None:
        settings = settings.model_copy(update={"reports_dir": reports})
    with training_progress() as progress:
        outcome = run_round(settings, project_id=project, export_file=export, force=force, progress=progress)
    print_result(outcome.result)
    if outcome.exported_reports:
        typer.echo(f"report copied to: {outcome.exported_reports['html'].parent}")
