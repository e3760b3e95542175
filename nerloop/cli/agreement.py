"""``nerloop agreement``: do the annotators agree? Span F1 and token kappa per annotator pair, disagreeing tasks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from nerloop.cli import ConfigOption, StudioProjectOption, app, with_config
from quality.agreement_summary import agreement


def pairs_table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"Agreement on {summary['tasks_compared']} tasks with two or more annotators")
    for column in ("annotators", "tasks", "span F1", "kappa", "weakest label"):
        table.add_column(column, justify="left" if column in ("annotators", "weakest label") else "right")
    for pair in summary["pairs"]:
        weakest = min(pair["by_label"].items(), key=lambda kv: kv[1]["span_f1"], default=None)
        table.add_row(" / ".join(map(str, pair["annotators"])), str(pair["tasks"]), f"{pair['span_f1']:.3f}",
                      f"{pair['kappa']:.3f}", f"{weakest[0]} {weakest[1]['span_f1']:.3f}" if weakest else "-")
    return table


def _spans(spans: list[dict[str, Any]]) -> str:
    return ", ".join(f"{s['label']} {s['text']!r}" for s in spans) or "nothing"


@app.command("agreement")
def agreement_command(
    ctx: typer.Context,
    project: StudioProjectOption = None,
    export: Annotated[Path | None, typer.Option(help="Use this JSON (or JSON_MIN) export instead.")] = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    show: Annotated[int, typer.Option(help="Disagreeing tasks to list (the JSON lists all).")] = 10,
) -> None:
    """Inter-annotator agreement: exact-span F1 and token-level Cohen's kappa for every pair of annotators."""
    settings = with_config(ctx.obj, config)
    summary = agreement(settings, project_id=project.require_studio() if project else None, export_file=export,
                        out_dir=settings.work_dir / "agreement" / (project.folder if project else "file"))
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    if not summary["pairs"]:
        typer.echo("no task has two or more (non-cancelled) annotations: nothing to compare")
        return
    console = Console(width=110)
    console.print(pairs_table(summary))
    labels = ", ".join(f"{k} {v['span_f1']:.3f}" for k, v in sorted(summary["by_label"].items(),
                                                                    key=lambda kv: kv[1]["span_f1"]))
    console.print(f"span F1 by label (all pairs): {labels}")
    disagreements = summary["disagreements"]
    console.print(f"{len(disagreements)} disagreeing task/pair(s)" + (":" if disagreements else ""))
    for d in disagreements[:show]:
        a, b = d["annotators"]
        where = f"  {d['link']}" if d["link"] else ""
        console.print(f"  task {d['task']}: {a} only {_spans(d['only_a'])}; {b} only {_spans(d['only_b'])}{where}",
                      soft_wrap=True)
