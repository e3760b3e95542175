"""A project's round: export from Label Studio (or read an export file) → frozen split files, written as the export
streams past (``nerloop.round_data``) → train → evaluate → gate → report → promote, in that project's registry
(``models/project-<id>/``).

The same function serves the CLI (``nerloop round --project ID``), cron, and the ML backend's Train button (which
runs ``python -m nerloop round --project ID`` as a separate process). With the ``local`` executor rounds of
different projects run one at a time (``store.projects.training_slot``); with ``ray`` the training part goes to the
cluster (``training.remote_training``) and rounds of different projects overlap. Two rounds of one project never
overlap (its registry lock). A round
marks itself running in ``project.json`` (pid, host), so one killed before it ends shows as failed
(``store.projects.last_round``). A round that fails leaves ``current`` as it was and records the failure in the
project's ``project.json``, where ``nerloop rounds``, the backend's ``/health`` and Label Studio's model card (for a
live project) show it.

Settings of a round, strongest first: options given on the command line (``overrides``), the project's own
``project.json``, then the environment (``NERLOOP_*``) and the defaults. The first round records its base model in
``project.json``, so later rounds from any entry point train from the same one unless told otherwise.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from converters.conversion_report import ConversionReport
from core.errors import NerloopError, TrainingError
from labeling_config import LabelConfig, load_config, parse_config
from nerloop.round_data import RoundData, split_round_export
from nerloop.settings import Settings
from quality.agreement_summary import agreement_section
from store import projects
from store.projects import ProjectFile
from store.registry import round_lock
from store.studio import Studio, task_link
from training.remote_training import fine_tune_for
from training.report import exported_folder
from training.report_sections import latest_audit
from training.round_builder import RoundResult, train_round

log = logging.getLogger(__name__)
Progress = Callable[[Any], None]


@dataclass(frozen=True)
class RoundOutcome:
    project: str
    result: RoundResult
    conversion: ConversionReport
    work_dir: Path  # the export and splits this round trained on
    exported_reports: dict[str, Path] = field(default_factory=dict)  # copies in settings.reports_dir, by format


def prepare_round_data(settings: Settings, *, project: ProjectFile, export_file: Path | None,
                       work_dir: Path) -> RoundData:
    """Export the live project into ``work_dir/export`` (or read ``export_file``) and stream it into the project's
    frozen split files in ``work_dir/splits`` (against the fixed test split, when the project has one)."""
    if export_file is None:
        if not projects.is_studio_project(project.project):
            raise TrainingError(f"project {project.project!r} is a named project, not a Label Studio project id",
                                where="--project", hint="pass --export FILE to train it from an export file")
        export_file, config = export_project(settings, int(project.project), work_dir / "export")
    else:
        config = load_config(settings.label_config)
    return split_round_export(settings, salt=project.salt, export_file=export_file, config=config,
                              split_dir=work_dir / "splits")


def run_round(settings: Settings, *, project: str | int | None = None, export_file: Path | None = None,
              force: bool = False, progress: Progress | None = None, overrides: Mapping[str, Any] | None = None,
              say: Callable[[str], None] = log.info) -> RoundOutcome:
    """Run one round of ``project`` (a Label Studio id, or a name with ``export_file``)."""
    name = projects.project_name(project)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work = settings.work_dir / "rounds" / f"project-{name}-{stamp}"
    registry_dir = projects.project_dir(settings.models_dir, name)
    with _slot(settings, say), round_lock(registry_dir):
        record = projects.open_project(settings.models_dir, name)
        projects.record_round_start(settings.models_dir, name)
        chosen = projects.round_settings(settings, record, overrides)
        try:
            data = prepare_round_data(chosen, project=record, export_file=export_file, work_dir=work)
            log.info("converted %s into %s: %s", data.export_file, data.split_dir,
                     ", ".join(f"{k} {v.sentences}" for k, v in data.report.splits.items()))
            test_source = (str(chosen.test_file) if chosen.test_file
                           else "the frozen test split of the project's annotations")
            result = train_round(data.split_dir, config=data.config, models_dir=registry_dir,
                                 settings=chosen.train, test_sentences=list(data.test), test_source=test_source,
                                 force=force, progress=progress, lock=False, prepare_model=_model_preparation(chosen),
                                 extra_manifest={"source": {"project": name, "export": str(data.export_file),
                                                            "splits": str(data.split_dir)}},
                                 report_extra=report_extra(chosen, name, data, registry_dir),
                                 train=fine_tune_for(chosen.executor, chosen.ray, f"nerloop-round-project-{name}"))
        except Exception as err:  # recorded whatever it is, then raised as it is
            projects.record_last_round(settings.models_dir, name, {"status": "failed", "error": str(err)})
            _publish(chosen, name, f"the last round failed: {err}")
            raise
        status = "promoted" if result.promoted else "kept"
        projects.record_last_round(settings.models_dir, name, {"status": status, "round": result.name,
                                                               "micro_f1": result.metrics["micro_f1"],
                                                               "reason": result.reason})
        if record.settings.base_model is None:
            projects.update_settings(settings.models_dir, name, base_model=chosen.train.base_model)
            say(f"project {name}: base model {chosen.train.base_model!r} recorded in "
                f"{registry_dir / projects.PROJECT_FILE}; its later rounds use it unless told otherwise")
    _publish(chosen, name, f"{result.name} {status} (micro F1 {result.metrics['micro_f1']:.4f}): {result.reason}")
    exported = export_reports(result, settings.reports_dir, name) if settings.reports_dir else {}
    return RoundOutcome(name, result, data.report, work, exported)


def _slot(settings: Settings, say: Callable[[str], None]) -> AbstractContextManager[None]:
    """Local rounds share this machine's cores (or GPU), so they run one at a time; on a Ray cluster, rounds of
    different projects run side by side as far as its resources allow (Ray queues the rest)."""
    if settings.executor == "ray":
        return contextlib.nullcontext()
    return projects.training_slot(settings.models_dir, say)


def report_extra(settings: Settings, project: str, data: RoundData, registry_dir: Path) -> dict[str, Any]:
    """What a round's report shows beyond its scores: links to the Label Studio tasks (a live project), the
    agreement of the export's tasks with two or more annotations, and the project's latest audit (if any)."""
    live = projects.is_studio_project(project)
    studio_url = settings.studio_url.rstrip("/") if live else None
    project_id = int(project) if live else None
    return {"task_link": task_link(studio_url, project_id, "{task}"),
            "sections": {"agreement": agreement_section(data.export_file, data.config, studio_url=studio_url,
                                                        project_id=project_id),
                         "label_issues": latest_audit(registry_dir)}}


def _publish(settings: Settings, project: str, text: str) -> None:
    """Show the outcome in Label Studio's model card of a live project (best effort; file rounds have none)."""
    if not projects.is_studio_project(project) or not settings.api_key:
        return
    try:
        studio = Studio.connect(settings.studio_url, settings.api_key)
    except NerloopError as err:
        log.warning("could not show the round's outcome in Label Studio: %s", err)
        return
    studio.publish_round_status(int(project), f"{time.strftime('%Y-%m-%d %H:%M')} {text}")


def export_reports(result: RoundResult, reports_dir: Path, project: str) -> dict[str, Path]:
    """Copy a round's report files to ``reports_dir/project-<id>/<round>/``; returns the copies by format."""
    target = exported_folder(reports_dir, project, result.name)
    target.mkdir(parents=True, exist_ok=True)
    copies = {}
    for fmt, source in result.report_paths.items():
        copies[fmt] = Path(shutil.copy2(source, target / source.name))
    log.info("copied the %s report to %s", result.name, target)
    return copies


def _model_preparation(settings: Settings) -> Callable[[Path], None] | None:
    """With the ONNX runtime served, export the round's ONNX file (int8 too if asked) before it is promoted."""
    if settings.runtime != "onnx":
        return None

    def export(model_dir: Path) -> None:
        from inference.onnx import onnx_path

        onnx_path(model_dir, quantize=settings.onnx_quantize)

    return export


def export_project(settings: Settings, project_id: int, out_dir: Path) -> tuple[Path, LabelConfig]:
    """Snapshot the project (JSON for training, CONLL2003 kept beside it) and read its label config."""
    studio = Studio.connect(settings.studio_url, settings.api_key)
    xml = studio.label_config_xml(project_id)
    config = parse_config(xml, source=f"project {project_id} label config")
    snapshot = studio.snapshot_export(project_id, out_dir, formats=("JSON", "CONLL2003"))
    (out_dir / "label_config.xml").write_text(xml, encoding="utf-8")
    return snapshot.files["JSON"], config
