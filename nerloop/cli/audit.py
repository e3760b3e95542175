"""``nerloop audit``: which labels are probably wrong? k-fold out-of-sample probabilities, ranked by cleanlab."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from core.errors import TrainingError
from nerloop.cli import BaseModelOption, ConfigOption, StudioProjectOption, app, with_config
from nerloop.cli.progress import training_progress
from quality.audit import MODEL_VERSION, audit, publish_issues, save_audit


def _describe(issue: dict[str, Any]) -> str:
    words = ", ".join(f"{w['word']!r} {w['annotated']} -> {w['suggested']}" for w in issue["words"])
    who = f" by {issue['annotator']}" if issue["annotator"] is not None else ""
    where = f"  {issue['link']}" if issue["link"] else ""
    return f"{issue['score']:.3f}  task {issue['task']} (annotation {issue['annotation']}{who}): {words}{where}"


@app.command("audit")
def audit_command(
    ctx: typer.Context,
    project: StudioProjectOption = None,
    export: Annotated[Path | None, typer.Option(help="Use this JSON (or JSON_MIN) export instead.")] = None,
    folds: Annotated[int, typer.Option(help="k of the k-fold cross-validation (2 for speed).")] = 5,
    config: ConfigOption = None,
    base_model: BaseModelOption = None,
    epochs: Annotated[float | None, typer.Option(help="Epochs per fold (default: the project's, then "
                                                      "NERLOOP_TRAIN__EPOCHS, 3).")] = None,
    top: Annotated[int | None, typer.Option(help="Only the N most suspect tasks.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {\"issues\": [...]} as JSON.")] = False,
    ray: Annotated[bool, typer.Option("--ray", help="Train the folds side by side on the Ray cluster at "
                                                    "NERLOOP_RAY__ADDRESS (as NERLOOP_EXECUTOR=ray does).")] = False,
    publish: Annotated[bool, typer.Option(help=f"Put the issues into the project as predictions (model_version "
                                                 f"{MODEL_VERSION!r}) carrying the suggested fix.")] = False,
) -> None:
    """Find probable label errors: each task scored by a model that did not train on it, most suspect first."""
    settings = with_config(ctx.obj, config)
    if ray:
        settings = settings.model_copy(update={"executor": "ray"})
    project_id = project.require_studio() if project is not None else None
    if publish and project_id is None:
        raise TrainingError("--publish needs --project", hint="pass the project the export came from")
    out_dir = settings.work_dir / "audit" / (project.folder if project else "file")
    say = (lambda msg: typer.echo(msg, err=True)) if as_json else typer.echo
    with training_progress() as progress:
        found = audit(settings, project_id=project_id, export_file=export, folds=folds, out_dir=out_dir, say=say,
                      progress=progress, overrides={"base_model": base_model, "epochs": epochs})
    if project_id is not None:
        say(f"saved the audit to {save_audit(settings.models_dir, project_id, found)}; the project's round reports "
            "show it")
    if top is not None:
        found["issues"] = found["issues"][:top]
    if publish:
        assert project_id is not None
        count = publish_issues(settings, project_id, found["issues"])
        say(f"published {count} prediction(s) with model_version {MODEL_VERSION!r}: filter the Data Manager by it")
    if as_json:
        typer.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    console = Console(width=120)
    console.print(f"{len(found['issues'])} suspect task(s) of {found['sentences']} ({folds} folds, "
                  f"{found['seconds']:.0f} s); score, task, words (annotated -> model):")
    for issue in found["issues"]:
        console.print(_describe(issue), soft_wrap=True, markup=False)
