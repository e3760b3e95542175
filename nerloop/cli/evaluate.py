"""``nerloop evaluate MODEL DATA``: score a round, ``current`` or a model folder on any TSV split."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from converters.corpus import read_tsv
from nerloop.cli import ProjectOption, app
from nerloop.cli.progress import quiet_transformers
from store.projects import project_dir
from store.registry import resolve_round
from training.evaluate import evaluate_model
from training.metrics import Evaluation


def model_folder(models_dir: Path, model: str, project: str | None = None) -> Path:
    """A round name or ``current`` of ``project`` → its model folder; anything else is taken as a folder."""
    if model == "current" or model.startswith("round-"):
        return resolve_round(project_dir(models_dir, project), model).model_dir
    return Path(model)


def scores_table(evaluation: Evaluation, title: str) -> Table:
    table = Table(title=title)
    for column in ("entity", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "entity" else "right")
    rows = [(e.label, e) for e in evaluation.entities] + [("micro avg", evaluation.micro),
                                                          ("macro avg", evaluation.macro)]
    for label, s in rows:
        table.add_row(label, f"{100 * s.precision:.1f}", f"{100 * s.recall:.1f}", f"{100 * s.f1:.1f}",
                      str(s.support))
    return table


@app.command("evaluate")
def evaluate_command(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="A round name (round-0003), 'current', or a model folder.")],
    data: Annotated[Path, typer.Argument(help="A TAG<TAB>token split.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full evaluation as JSON.")] = False,
    project: ProjectOption = None,
) -> None:
    """Evaluate a model on a split (seqeval strict IOB2): per-entity P/R/F1, micro and macro averages."""
    quiet_transformers()
    folder = model_folder(ctx.obj.models_dir, model, project)
    evaluation = evaluate_model(folder, read_tsv(data))
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(evaluation), indent=2))
        return
    console = Console(width=100)
    console.print(scores_table(evaluation, f"{model} on {data} ({evaluation.sentences} sentences)"))
    console.print(f"token accuracy {100 * evaluation.token_accuracy:.1f}%; errors: "
                  + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in evaluation.error_counts.items()))
