"""A rich progress bar for training events (the library yields events; only the CLI renders them)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from training.fine_tune import describe_validation


def quiet_transformers() -> None:
    """No tqdm bars from transformers (loading, saving): the CLI draws its own progress. Without ``--verbose`` its
    warnings go too: the one every round prints (a base encoder's pooler unused, a new classification head) is
    expected, and nerloop logs what it loaded itself."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        hf_logging.set_verbosity_error()


@contextmanager
def training_progress(console: Console | None = None) -> Iterator[Callable[[Any], None]]:
    """Yield a callback for ``TrainEvent``s that drives one progress bar and prints validation scores (and turn
    transformers' own tqdm bars off, so the output and round logs stay clean)."""
    quiet_transformers()
    console = console or Console(stderr=True)
    columns = (TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(),
               TextColumn("epoch {task.fields[epoch]:.2f}"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("train", total=None, epoch=0.0)

        def on_event(event: Any) -> None:
            bar.update(task, completed=event.step, total=event.total_steps or None, epoch=event.epoch)
            if event.kind == "evaluate" and event.metrics:
                console.print(describe_validation(event.step, event.total_steps, event.epoch, event.metrics),
                              markup=False, soft_wrap=True)

        yield on_event
