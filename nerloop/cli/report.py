"""``nerloop report ROUND``: re-render a round's report from its report.json, or export it elsewhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from core.errors import RegistryError
from nerloop.cli import ProjectOption, app
from store.projects import project_dir
from store.registry import resolve_round
from training.report import FORMATS, exported_folder, write_report
from training.report_sections import latest_audit, trim_sections


@app.command("report")
def report_command(
    ctx: typer.Context,
    round_name: Annotated[str, typer.Argument(metavar="ROUND", help="A round name or 'current'.")],
    export: Annotated[Path | None, typer.Option(help="Write the files to EXPORT/project-<id>/<round>/ (as `round "
                                                     "--reports` does) instead of the round folder.")] = None,
    formats: Annotated[str, typer.Option("--format", help="Comma-separated: html,md,json.")] = "html,md,json",
    project: ProjectOption = None,
) -> None:
    """Re-render (or export) a round's report as HTML, Markdown and JSON (with the project's latest audit, from
    `nerloop audit --project`, when there is one)."""
    folder = project_dir(ctx.obj.models_dir, project)
    record = resolve_round(folder, round_name)
    source = record.path / "report.json"
    if not source.is_file():
        raise RegistryError("the round has no report.json", where=str(record.path),
                            hint="re-evaluate it with `nerloop evaluate` or train a new round")
    chosen = [f.strip() for f in formats.split(",") if f.strip()]
    unknown = sorted(set(chosen) - set(FORMATS))
    if unknown:
        raise typer.BadParameter(f"unknown format(s) {', '.join(unknown)}; expected html, md, json")
    report = json.loads(source.read_text(encoding="utf-8"))
    audit = latest_audit(folder)
    if audit is not None:
        report.setdefault("sections", {}).update(trim_sections({"label_issues": audit}))
    target = exported_folder(export, project, record.name) if export else record.path
    paths = write_report(target, report, chosen)
    for fmt in chosen:
        typer.echo(f"wrote {paths[fmt]}")
