"""A round: export from Label Studio → convert → train → evaluate → report → promote.

The same function serves the CLI (`nerloop round`), cron, and the ML backend's Train button (which runs
`python -m nerloop round --project ID` as a separate process). A lock on the models directory keeps two rounds
from overlapping; a round that fails leaves ``current`` as it was.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from converters.corpus import Sentence, read_tsv
from converters.export import read_export
from converters.report import ConversionReport
from converters.split import Splits, make_splits, write_splits
from labeling_config import LabelConfig, load_config, parse_config
from labeling_config.errors import TrainingError, UnknownTagError
from nerloop import studio
from nerloop.settings import Settings
from training.registry import round_lock
from training.rounds import RoundResult, train_round

log = logging.getLogger(__name__)
Progress = Callable[[Any], None]


@dataclass(frozen=True)
class RoundOutcome:
    result: RoundResult
    conversion: ConversionReport
    work_dir: Path  # the export and splits this round trained on
    exported_reports: dict[str, Path] = field(default_factory=dict)  # copies in settings.reports_dir, by format


@dataclass(frozen=True)
class AnnotatedData:
    """What a round or a curve trains on: the config, the export it came from, and its splits."""

    config: LabelConfig
    export_file: Path
    report: ConversionReport
    splits: Splits


def load_annotated_data(settings: Settings, *, project_id: int | None, export_file: Path | None,
                        export_dir: Path) -> AnnotatedData:
    """Export the project into ``export_dir`` (or read ``export_file``), convert it, and split it against the
    fixed test split; exactly one of ``project_id`` and ``export_file`` is given."""
    if (project_id is None) == (export_file is None):
        raise TrainingError("training needs exactly one source", hint="pass --project ID or --export FILE")
    if project_id is not None:
        export_file, config = export_project(settings, project_id, export_dir)
    else:
        config = load_config(settings.label_config)
    assert export_file is not None
    sentences, report = read_export(export_file, config, policy=settings.annotation_policy)
    if not sentences:
        raise TrainingError(f"no annotated sentences in the export ({report.tasks_read} tasks read)",
                            where=str(export_file), hint="annotate some tasks in Label Studio, then run again")
    splits = make_splits(sentences, seed=settings.split_seed, ratios=settings.split_ratios,
                         test_sentences=read_fixed_test(settings, config))
    return AnnotatedData(config, export_file, report, splits)


def run_round(settings: Settings, *, project_id: int | None = None, export_file: Path | None = None,
              force: bool = False, progress: Progress | None = None) -> RoundOutcome:
    """Run one round from a live Label Studio project (``project_id``) or an export file (``export_file``)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work = settings.work_dir / "rounds" / (f"project-{project_id}-{stamp}" if project_id else f"file-{stamp}")
    with round_lock(settings.models_dir):
        data = load_annotated_data(settings, project_id=project_id, export_file=export_file,
                                   export_dir=work / "export")
        split_files = write_splits(data.splits, work / "splits", data.report)
        log.info("converted %s: %s", data.export_file, ", ".join(f"{k} {v}" for k, v in split_files.items()))
        test_source = str(settings.test_file) if settings.test_file else "the test split cut from the export"
        result = train_round(work / "splits", config=data.config, models_dir=settings.models_dir,
                             settings=settings.train, test_sentences=data.splits.test, test_source=test_source,
                             force=force, progress=progress, lock=False, prepare_model=_model_preparation(settings),
                             extra_manifest={"source": {"project": project_id, "export": str(data.export_file),
                                                        "splits": str(work / "splits")}})
    exported = export_reports(result, settings.reports_dir) if settings.reports_dir else {}
    return RoundOutcome(result, data.report, work, exported)


def export_reports(result: RoundResult, reports_dir: Path) -> dict[str, Path]:
    """Copy a round's report files to ``reports_dir/<round>/``; returns the copies by format."""
    target = reports_dir / result.name
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
    client = studio.connect(settings.studio_url, settings.api_key)
    xml = studio.project_label_config(client, settings.studio_url, project_id)
    config = parse_config(xml, source=f"project {project_id} label config")
    snapshot = studio.snapshot_export(client, settings.studio_url, project_id, out_dir,
                                      formats=("JSON", "CONLL2003"))
    (out_dir / "label_config.xml").write_text(xml, encoding="utf-8")
    return snapshot.files["JSON"], config


def read_fixed_test(settings: Settings, config: LabelConfig) -> list[Sentence] | None:
    """The fixed test split that keeps rounds comparable, if one is configured and exists."""
    if settings.test_file is None:
        return None
    if not settings.test_file.exists():
        raise TrainingError("the fixed test file does not exist", where=str(settings.test_file),
                            hint="set NERLOOP_TEST_FILE to a TAG<TAB>token file, or to '' to split a test set off")
    try:
        return read_tsv(settings.test_file, tags=config.tags)
    except UnknownTagError as err:
        raise TrainingError(f"the fixed test file does not fit this project's labels ({err.message})",
                            where=err.where, hint="set NERLOOP_TEST_FILE to a test file with your labels, or to '' "
                                                  "to cut a test split from the annotations") from err
