"""``nerloop config``: write a Label Studio labeling config for a label list, or show what a config defines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from labeling_config import load_config, render_config
from nerloop.cli import app


@app.command("config")
def config_command(
    labels: Annotated[str | None, typer.Option(help="Comma-separated labels, e.g. Amenity,Cuisine,Dish.")] = None,
    show: Annotated[Path | None, typer.Option(help="Print the labels, names and BIO tags of this config.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the XML here, not stdout.")] = None,
) -> None:
    """Generate a <Labels>/<Text> config (--labels) or inspect one (--show)."""
    if show is not None:
        cfg = load_config(show)
        typer.echo(f"labels: {', '.join(cfg.labels)}\nfrom_name: {cfg.from_name}\nto_name: {cfg.to_name}\n"
                   f"data key: {cfg.data_key}\ntags: {' '.join(cfg.tags)}")
        return
    if not labels:
        raise typer.BadParameter("pass --labels A,B,C (or --show FILE)")
    xml = render_config([label.strip() for label in labels.split(",") if label.strip()])
    if output:
        output.write_text(xml, encoding="utf-8")
        typer.echo(f"wrote {output}")
    else:
        typer.echo(xml, nl=False)
