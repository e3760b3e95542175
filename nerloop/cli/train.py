"""``nerloop train``: train a round into a project's registry (evaluate, report, promote) from TSV splits.

Several GPUs or nodes: ``torchrun --nproc_per_node 2 -m nerloop train ...`` (the Trainer runs DDP; rank 0
writes the round).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from labeling_config import load_config
from nerloop.cli import ProjectOption, app
from nerloop.cli.progress import training_progress
from store.projects import open_project, project_dir
from store.settings import DEFAULT_BASE_MODEL, TrainSettings
from training.remote_training import fine_tune_for
from training.round_builder import RoundResult, train_round


def print_result(result: RoundResult) -> None:
    if not result.name:
        return  # a non-main DDP process
    metrics = result.metrics
    typer.echo(f"{result.name}: micro F1 {metrics['micro_f1']:.4f}, macro F1 {metrics['macro_f1']:.4f}")
    if result.delta is not None:
        typer.echo(f"delta vs {result.previous}: {result.delta:+.4f} micro F1")
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
    base_model: Annotated[str | None, typer.Option(help="Hub id, local folder, or 'minilm' (offline). "
                                                        f"Default: {DEFAULT_BASE_MODEL}.")] = None,
    epochs: Annotated[float | None, typer.Option(min=0.01, help="Default: 3.")] = None,
    learning_rate: Annotated[float | None, typer.Option(help="Default: 1e-4 for minilm, else 5e-5.")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Default: 16.")] = None,
    seed: Annotated[int | None, typer.Option(help="Default: 42.")] = None,
    device: Annotated[str | None, typer.Option(help="auto (default), cpu or cuda.")] = None,
    init_from: Annotated[str | None, typer.Option(help="current (default: continue from the served "
                                                       "round when its labels and base model match) or base.")] = None,
    label_all_subtokens: Annotated[bool | None, typer.Option("--label-all-subtokens/--label-first-subtoken",
                                                             help="Default: first sub-token only.")] = None,
    promote_tolerance: Annotated[float | None, typer.Option(min=0, help="Max test F1 drop that still promotes "
                                                                        "(default 0.005).")] = None,
    force: Annotated[bool, typer.Option(help="Promote even if test F1 dropped.")] = False,
    project: ProjectOption = None,
) -> None:
    """Train a round: fine-tune, evaluate on the test split, write the report, register, and promote if not worse.

    Options not given keep the settings' values (NERLOOP_TRAIN__*, then the defaults).
    """
    settings = ctx.obj
    label_config = load_config(config or settings.label_config)
    test_file = test or (settings.test_file if settings.test_file and settings.test_file.is_file() else None)
    given = {"base_model": base_model, "epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size,
             "seed": seed, "device": device and _choice(device, ("auto", "cpu", "cuda")),
             "init_from": init_from and _choice(init_from, ("base", "current")),
             "label_all_subtokens": label_all_subtokens, "promote_tolerance": promote_tolerance}
    train_settings = TrainSettings.model_validate(
        {**settings.train.model_dump(), **{k: v for k, v in given.items() if v is not None}})
    record = open_project(settings.models_dir, project)
    with training_progress() as progress:
        result = train_round({"train": train, "validation": validation, "test": test_file}, config=label_config,
                             models_dir=project_dir(settings.models_dir, record.project), settings=train_settings,
                             force=force, progress=progress, train=fine_tune_for(settings.executor, settings.ray))
    print_result(result)


def _choice(value: str, allowed: tuple[str, ...]) -> Literal["auto", "cpu", "cuda", "base", "current"]:
    if value not in allowed:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}")
    return value  # type: ignore[return-value]
