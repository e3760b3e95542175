"""``nerloop round`` runs a project's round; ``nerloop rounds`` lists a project's rounds and its last outcome.

``round`` is cron-friendly: no prompts, a non-zero exit on failure, and rounds never overlap (a project's lock; a
round of another project is waited for).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nerloop.cli import BaseModelOption, ConfigOption, ProjectOption, app, with_config
from nerloop.cli.progress import training_progress
from nerloop.cli.train import print_result
from nerloop.pipeline import run_round
from store import projects
from store.registry import current_name, list_rounds


@app.command("round")
def round_command(
    ctx: typer.Context,
    project: ProjectOption = None,
    export: Annotated[Path | None, typer.Option(help="Train from this export file (JSON, JSON_MIN, CONLL2003) "
                                                     "instead of a live project.")] = None,
    force: Annotated[bool, typer.Option(help="Promote even if the test F1 got worse.")] = False,
    config: ConfigOption = None,
    base_model: BaseModelOption = None,
    epochs: Annotated[float | None, typer.Option(help="Override the number of epochs.")] = None,
    reports: Annotated[Path | None, typer.Option(help="Also copy the report (html, md, json) to "
                                                      "REPORTS/project-<id>/<round>/ (env NERLOOP_REPORTS_DIR).")]
    = None,
) -> None:
    """Run one training round of a project and print its F1, the delta against the served round and the report."""
    settings = with_config(ctx.obj, config)
    if project is None and export is None:
        raise typer.BadParameter("pass --project ID (a Label Studio project), or --export FILE [--project NAME]")
    if reports is not None:
        settings = settings.model_copy(update={"reports_dir": reports})
    overrides = {"base_model": base_model, "epochs": epochs}
    with training_progress() as progress:
        outcome = run_round(settings, project=project, export_file=export, force=force, progress=progress,
                            overrides=overrides, say=typer.echo)
    print_result(outcome.result)
    if outcome.exported_reports:
        typer.echo(f"report copied to: {outcome.exported_reports['html'].parent}")


def trained_on(manifest: dict) -> str:
    """Where a round trained, from its manifest: ``local host``, ``ray node-7 (NVIDIA H100 80GB HBM3)``."""
    executor = manifest.get("executor")
    if not isinstance(executor, dict):
        return "-"
    gpu = executor.get("gpu") or (manifest.get("device", {}).get("name") if manifest.get("device", {}).get("kind")
                                  == "cuda" else None)
    return f"{executor.get('kind', '?')} {executor.get('host', '?')}" + (f" ({gpu})" if gpu else "")


@app.command("rounds")
def rounds_command(ctx: typer.Context, project: ProjectOption = None) -> None:
    """List a project's rounds (oldest first) with micro F1, base model, promotion and the served one (*)."""
    models_dir = ctx.obj.models_dir
    name = projects.project_name(project)
    registry_dir = projects.project_dir(models_dir, name)
    rounds = list_rounds(registry_dir)
    record = projects.read_project(models_dir, name)
    if not rounds:
        typer.echo(f"project {name}: no rounds in {registry_dir}")
    else:
        served = current_name(registry_dir)
        table = Table(title=f"project {name}: rounds in {registry_dir}")
        for column in ("", "round", "micro F1", "macro F1", "base model", "trained on", "promoted", "created"):
            table.add_column(column)
        for entry in rounds:
            manifest = entry.manifest
            metrics = manifest.get("metrics", {})
            f1, macro = metrics.get("micro_f1"), metrics.get("macro_f1")
            table.add_row("*" if entry.name == served else "", entry.name,
                          f"{f1:.4f}" if f1 is not None else "-", f"{macro:.4f}" if macro is not None else "-",
                          str(manifest.get("base_model", {}).get("name", "-")), trained_on(manifest),
                          "yes" if manifest.get("promoted") else "no", str(manifest.get("created", "-")))
        Console(width=140).print(table)
        typer.echo(f"served: {served or 'none'}")
    last = projects.last_round(record)
    if last:
        detail = last.get("error") or last.get("reason") or ""
        when = last.get("finished") or f"{last.get('started')} (start)"
        typer.echo(f"last round: {last.get('status')} {last.get('round', '')} at {when}: {detail}")
