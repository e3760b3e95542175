"""``nerloop convert``: a Label Studio export into train/validation/test splits, or a BIO corpus into tasks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from converters.conversion_report import Problem, render_report
from converters.corpus import read_tsv
from converters.export import FORMATS, POLICIES, iter_export
from converters.split_rule import DEFAULT_SALT
from converters.split_writer import SplitWriter
from converters.tasks import KINDS, tasks_from_sentences
from core.errors import ConversionError
from labeling_config import load_config
from nerloop.cli import app
from nerloop.settings import Settings

convert_app = typer.Typer(no_args_is_help=True, help="Convert between Label Studio exports, splits and tasks.")
app.add_typer(convert_app, name="convert")


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr; the library reports ``(done, total)``."""
    console = Console(stderr=True)
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True,
                  console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _ratios(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError as exc:
        raise ConversionError(f"--ratios {text!r} is not three comma-separated numbers",
                              hint="pass e.g. --ratios 0.8,0.1,0.1") from exc


@convert_app.command("export")
def export_command(
    ctx: typer.Context,
    export_file: Annotated[Path, typer.Argument(help="A Label Studio export: CONLL2003, JSON or JSON_MIN.")],
    out: Annotated[Path, typer.Option(help="Folder for train/validation/test.tsv and conversion.json.")],
    fmt: Annotated[str, typer.Option("--format", help=f"One of {', '.join(FORMATS)}.")] = "auto",
    config: Annotated[Path | None, typer.Option(help="Labeling config XML (default: settings).")] = None,
    salt: Annotated[str, typer.Option(help="Salt of the split's hash: the same salt and ratios put a text in the "
                                           "same split in every export that holds it.")] = DEFAULT_SALT,
    ratios: Annotated[str, typer.Option(help="train,validation,test fractions.")] = "0.8,0.1,0.1",
    test_file: Annotated[Path | None, typer.Option(help="Use this TAG<TAB>token file as the test split (e.g. "
                                                        "nerloop/demo/mit_restaurant/test.bio); the export is then cut "
                                                        "into "
                                                        "train/validation only.")] = None,
    policy: Annotated[str, typer.Option(help=f"Annotation per task: {', '.join(POLICIES)}.")] = "newest",
    strict: Annotated[bool, typer.Option("--strict", help="Reject an I- tag without B-.")] = False,
    tolerant: Annotated[bool, typer.Option("--tolerant", help="Accept a BOM and CRLF line endings.")] = False,
) -> None:
    """Turn a Label Studio export into splits plus a conversion report (streaming: in bounded memory)."""
    settings: Settings = ctx.obj
    label_config = load_config(config or settings.label_config)
    split_ratios = _ratios(ratios)
    with _progress("converting export") as progress:
        stream = iter_export(export_file, label_config, fmt=fmt, policy=policy, strict=strict, tolerant=tolerant,
                             progress=progress)  # raises about the file as a whole before anything is written
        test = read_tsv(test_file, tags=label_config.tags, strict=strict, tolerant=tolerant) if test_file else None
        with SplitWriter(out, salt=salt, ratios=split_ratios, test_sentences=test) as writer:
            for sentence in stream:
                writer.add(sentence)
            paths, report = writer.finish(stream.report)
    typer.echo(render_report(report))
    typer.echo(f"wrote {', '.join(str(p) for p in paths.values())}")


@convert_app.command("tasks")
def tasks_command(
    ctx: typer.Context,
    bio_file: Annotated[Path, typer.Argument(help="A TAG<TAB>token corpus, e.g. "
                                             "nerloop/demo/mit_restaurant/train.bio.")],
    out: Annotated[Path, typer.Option(help="Where to write the task JSON list.")],
    as_: Annotated[str, typer.Option("--as", help=f"One of {', '.join(KINDS)}.")] = "annotations",
    model_version: Annotated[str | None, typer.Option(help="model_version of predictions.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N sentences.")] = None,
    config: Annotated[Path | None, typer.Option(help="Labeling config XML (default: settings).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Reject an I- tag without B-.")] = False,
    tolerant: Annotated[bool, typer.Option("--tolerant", help="Accept a BOM and CRLF line endings.")] = False,
) -> None:
    """Turn a BIO corpus into Label Studio tasks with annotations or predictions."""
    settings: Settings = ctx.obj
    label_config = load_config(config or settings.label_config)
    sentences = read_tsv(bio_file, tags=label_config.tags, strict=strict, tolerant=tolerant)[:limit]
    problems: list[Problem] = []
    with _progress("writing tasks") as progress:
        tasks = tasks_from_sentences(sentences, label_config, as_=as_, model_version=model_version,
                                     problems=problems, progress=lambda done: progress(done, len(sentences)))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for problem in problems:
        typer.echo(problem.render())
    typer.echo(f"wrote {len(tasks)} tasks ({as_}) to {out}; {len(problems)} retokenized")
