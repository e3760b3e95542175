"""``nerloop curve``: does more annotation still pay? F1 at 25/50/75/100% of the annotated data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nerloop.cli import BaseModelOption, ConfigOption, ProjectOption, app, with_config
from nerloop.cli.progress import training_progress
from nerloop.curve import check_fractions, learning_curve


@app.command("curve")
def curve_command(
    ctx: typer.Context,
    project: ProjectOption = None,
    export: Annotated[Path | None, typer.Option(help="Use this export file instead of a live project.")] = None,
    fractions: Annotated[str, typer.Option(help="Comma-separated fractions of the training data.")] = "0.25,0.5,0.75,1",
    config: ConfigOption = None,
    base_model: BaseModelOption = None,
    out: Annotated[Path | None, typer.Option(help="Folder for curve.json/md/html [work dir/curve].")] = None,
) -> None:
    """Train on growing fractions of the annotated data (same test split) and report F1 for each, with a plot."""
    settings = with_config(ctx.obj, config)
    try:
        values = [float(f) for f in fractions.split(",") if f.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"{fractions!r} is not a comma-separated list of numbers") from exc
    check_fractions(values)
    out = out or settings.work_dir / "curve"
    with training_progress() as progress:
        points = learning_curve(settings, project=project, export_file=export, fractions=values, out_dir=out,
                                say=typer.echo, progress=progress, overrides={"base_model": base_model})
    for point in points:
        typer.echo(f"{point.fraction:>5.0%}  {point.train_sentences:>6} sentences  F1 {point.f1:.4f}")
    typer.echo(f"report: {out / 'curve.html'}")
