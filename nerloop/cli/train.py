"""``nerloop train``: train a round into the registry (evaluate, report, promote) from TSV splits.

Several GPUs or nodes: ``torchrun --nproc_per_node 2 -m nerloop train ...`` (the Trainer runs DDP; rank 0
writes the round).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from labeling_config import load_config
from nerloop.cli import app
from nerloop.cli.evaluate import quiet_transformers
from training.fine_tune import TrainEvent
from training.rounds import RoundResult, train_round
from training.settings import DEFAULT_BASE_MODEL, TrainSettings


def print_result(result: RoundResult) -> None:
    if not result.name:
        return  # a non-main DDP process
    metrics = result.metrics
    typer.echo(f"{result.name}: micro F1 {metrics['micro_f1']:.4f}, macro F1 {metrics['macro_f1']:.4f}")
    typer.echo(f"{'promoted' if result.promoted else 'not promoted'}: {result.reason}")
    typer.echo(f"report: {result.report_paths.get('html', '')}")


@app.command("train")
def train_command(
    ctx: typer.Context,
    train: Annotated[Path, typer.Option(help="Training split (TAG<TAB>token).")],
    validation: Annotated[Path | None, typer.Option(help="Validation split; default: a seeded 10% of train.")] = None,
    test: Annotated[Path | None, typer.Option(help="Test split for the report and the gate; default: the "
                                                   "settings' test file (NERLOOP_TEST_FILE).")] = None,
    config: Annotated[Path | None, typer.Option(help="Label Studio labeling config (XML).")] = None,
    base_model: Annotated[str, typer.Option(help="Hub id, local folder, or 'minilm' (offline).")] = DEFAULT_BASE_MODEL,
    epochs: Annotated[float, typer.Option(min=0.01)] = 3,
    learning_rate: Annotated[float | None, typer.Option(help="Default: 1e-4 for minilm, else 5e-5.")] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    seed: int = 42,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    init_from: Annotated[str, typer.Option(help="base, or current (continue from the served round).")] = "base",
    label_all_subtokens: bool = False,
    force: Annotated[bool, typer.Option(help="Promote even if test F1 dropped.")] = False,
) -> None:
    """Train a round: fine-tune, evaluate on the test split, write the report, register, and promote if not worse."""
    quiet_transformers()
    settings = ctx.obj
    label_config = load_config(config or settings.label_config)
    test_file = test or (settings.test_file if settings.test_file and settings.test_file.is_file() else None)
    train_settings = TrainSettings(base_model=base_model, epochs=epochs, learning_rate=learning_rate,
                                   batch_size=batch_size, seed=seed, device=_choice(device, ("auto", "cpu", "cuda")),
                                   init_from=_choice(init_from, ("base", "current")),
                                   label_all_subtokens=label_all_subtokens)
    console = Console()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("training", total=None)

        def show(event: TrainEvent) -> None:
            bar.update(task, completed=event.step, total=event.total_steps or None)
            if event.kind == "evaluate":
                console.print(f"epoch {event.epoch:.2f}: validation F1 {event.metrics.get('eval_f1', 0.0):.4f}")

        result = train_round({"train": train, "validation": validation, "test": test_file}, config=label_config,
                             models_dir=settings.models_dir, settings=train_settings, force=force, progress=show)
    print_result(result)


def _choice(value: str, allowed: tuple[str, ...]) -> Literal["auto", "cpu", "cuda", "base", "current"]:
    if value not in allowed:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}")
    return value  # type: ignore[return-value]
