"""The learning curve: train on growing fractions of the annotated data, score each on the same test split.

Fractions are nested (the 50% set contains the 25% set) and drawn from one seeded shuffle, so the curve shows the
value of more annotation rather than of a different sample. Models are trained in a scratch folder and not
registered: a curve is a measurement, not a round.
"""

from __future__ import annotations

import base64
import io
import json
import random
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from converters.corpus import Sentence
from core.errors import TrainingError
from nerloop.pipeline import prepare_round_data
from nerloop.settings import Settings
from store import projects
from training.base_model import resolve_base_model
from training.evaluate import evaluate_model
from training.fine_tune import Progress, fine_tune
from training.split_files import load_splits


@dataclass(frozen=True)
class CurvePoint:
    fraction: float
    train_sentences: int
    f1: float
    precision: float
    recall: float
    seconds: float


def learning_curve(settings: Settings, *, project: str | int | None = None, export_file: Path | None = None,
                   fractions: Sequence[float] = (0.25, 0.5, 0.75, 1.0), out_dir: Path,
                   say: Callable[[str], None] = lambda _msg: None, progress: Progress | None = None,
                   overrides: Mapping[str, Any] | None = None) -> list[CurvePoint]:
    """Train once per fraction and write ``curve.json``, ``curve.md`` and ``curve.html`` (with a plot) to out_dir;
    ``progress`` gets each training's events. Settings as a round's: ``overrides`` > ``project.json`` > settings."""
    check_fractions(fractions)
    record = projects.open_project(settings.models_dir, project)
    settings = projects.round_settings(settings, record, overrides)
    data = prepare_round_data(settings, project=record, export_file=export_file, work_dir=out_dir)
    config, test = data.config, list(data.test)
    splits = load_splits(data.split_dir, config, seed=settings.train.seed)
    pool: list[Sentence] = list(splits.train)
    random.Random(settings.split_seed).shuffle(pool)
    base_source = resolve_base_model(settings.train.base_model)
    points: list[CurvePoint] = []
    for fraction in sorted(fractions):
        subset = pool[: max(1, round(fraction * len(pool)))]
        say(f"training on {fraction:.0%} ({len(subset)} sentences) ...")
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="nerloop-curve-") as scratch:
            result = fine_tune(subset, splits.validation, config=config, settings=settings.train,
                               output_dir=scratch, base_source=base_source, progress=progress)
            score = evaluate_model(result.model_dir, test, config).micro
        points.append(CurvePoint(fraction, len(subset), score.f1, score.precision, score.recall,
                                 time.perf_counter() - started))
        say(f"  F1 {score.f1:.4f}")
    write_curve(points, out_dir, test_sentences=len(test))
    return points


def check_fractions(fractions: Sequence[float]) -> None:
    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise TrainingError(f"fractions must be in (0, 1], got {list(fractions)}", hint="e.g. --fractions 0.25,0.5,1")


def write_curve(points: Sequence[CurvePoint], out_dir: Path, *, test_sentences: int) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "curve.json", "md": out_dir / "curve.md", "html": out_dir / "curve.html"}
    paths["json"].write_text(json.dumps({"test_sentences": test_sentences, "points": [asdict(p) for p in points]},
                                        indent=2), encoding="utf-8")
    rows = "\n".join(f"| {p.fraction:.0%} | {p.train_sentences} | {p.f1:.4f} | {p.precision:.4f} | "
                     f"{p.recall:.4f} | {p.seconds:.0f} |" for p in points)
    table = ("| data | train sentences | F1 | precision | recall | seconds |\n|---|---|---|---|---|---|\n"
             f"{rows}\n")
    paths["md"].write_text(f"# Learning curve\n\nEntity-level micro F1 (seqeval strict IOB2) on the same "
                           f"{test_sentences}-sentence test split.\n\n{table}", encoding="utf-8")
    html_rows = "".join(f"<tr><td>{p.fraction:.0%}</td><td>{p.train_sentences}</td><td>{p.f1:.4f}</td></tr>"
                        for p in points)
    paths["html"].write_text(
        "<!doctype html><meta charset='utf-8'><title>nerloop learning curve</title>"
        f"<h1>Learning curve</h1><p>Micro F1 on the same {test_sentences}-sentence test split.</p>"
        f"<img alt='learning curve' src='data:image/png;base64,{plot_curve(points)}'>"
        f"<table><tr><th>data</th><th>train sentences</th><th>F1</th></tr>{html_rows}</table>", encoding="utf-8")
    return paths


def plot_curve(points: Sequence[CurvePoint]) -> str:
    """The curve as a base64 PNG (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    ax.plot([p.train_sentences for p in points], [p.f1 for p in points], marker="o")
    ax.set_xlabel("annotated training sentences")
    ax.set_ylabel("test micro F1")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
