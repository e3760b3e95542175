"""``nerloop rounds``: the registry's rounds with their test F1, the served one marked."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from nerloop.cli import app
from training.registry import current_name, list_rounds


@app.command("rounds")
def rounds_command(ctx: typer.Context) -> None:
    """List rounds (oldest first) with micro F1, base model, promotion and the served one (*)."""
    models_dir = ctx.obj.models_dir
    rounds = list_rounds(models_dir)
    if not rounds:
        typer.echo(f"no rounds in {models_dir}")
        return
    served = current_name(models_dir)
    table = Table(title=f"rounds in {models_dir}")
    for column in ("", "round", "micro F1", "macro F1", "base model", "promoted", "created"):
        table.add_column(column)
    for record in rounds:
        manifest = record.manifest
        metrics = manifest.get("metrics", {})
        f1 = metrics.get("micro_f1")
        macro = metrics.get("macro_f1")
        table.add_row("*" if record.name == served else "", record.name,
                      f"{f1:.4f}" if f1 is not None else "-", f"{macro:.4f}" if macro is not None else "-",
                      str(manifest.get("base_model", {}).get("name", "-")),
                      "yes" if manifest.get("promoted") else "no", str(manifest.get("created", "-")))
    Console(width=140).print(table)
    typer.echo(f"served: {served or 'none'}")
