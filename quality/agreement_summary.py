"""Annotation quality of a project or an export: inter-annotator agreement (``nerloop agreement``) and the
serialisable summary a round report embeds.

With a live project the export is a fresh JSON snapshot, and user ids are shown as the users' emails (Label
Studio's users API); with an export file the ids (or emails) the file holds are used.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from converters.export import read_export_tasks
from core.errors import InputFormatError, TrainingError
from labeling_config import LabelConfig, load_config
from quality.agreement import AgreementReport, LabelAgreement, measure_agreement
from store.settings import SharedSettings
from store.studio import Studio, task_link

log = logging.getLogger(__name__)


def export_source(settings: SharedSettings, *, project_id: int | None, export_file: Path | None,
                  out_dir: Path) -> tuple[Path, LabelConfig, dict[int, str]]:
    """The JSON export to read (a fresh snapshot of ``project_id``, or ``export_file``), its label config, and the
    project's user emails by id (empty for a file)."""
    if (project_id is None) == (export_file is None):
        raise TrainingError("this needs exactly one source", hint="pass --project ID or --export FILE")
    if export_file is not None:
        return export_file, load_config(settings.label_config), {}
    assert project_id is not None
    studio = Studio.connect(settings.studio_url, settings.api_key)
    config = studio.label_config(project_id)
    snapshot = studio.snapshot_export(project_id, out_dir, formats=("JSON",))
    return snapshot.files["JSON"], config, studio.user_emails()


def agreement(settings: SharedSettings, *, project_id: int | None = None, export_file: Path | None = None,
              out_dir: Path) -> dict[str, Any]:
    """The agreement summary (``agreement_summary``) of a project or an export file."""
    path, config, names = export_source(settings, project_id=project_id, export_file=export_file, out_dir=out_dir)
    _, tasks = read_export_tasks(path, config)
    report = measure_agreement(tasks, config, names=names)
    studio_url = settings.studio_url if project_id is not None else None
    return agreement_summary(report, studio_url=studio_url, project_id=project_id)


def agreement_section(export_file: Path, config: LabelConfig, *, studio_url: str | None = None,
                      project_id: int | None = None) -> dict[str, Any] | None:
    """For a round report: the agreement summary of the round's export, or None when no task of it has two or
    more annotators (JSON or JSON_MIN exports; a CONLL2003 export has no annotators: None too)."""
    try:
        _, tasks = read_export_tasks(export_file, config)
    except InputFormatError:
        return None
    report = measure_agreement(tasks, config)
    if not report.tasks_compared:
        return None
    return agreement_summary(report, studio_url=studio_url, project_id=project_id)


def _label(item: LabelAgreement) -> dict[str, Any]:
    return {"span_f1": round(item.span_f1, 4), "spans": [item.spans_a, item.spans_b], "matched": item.matched}


def agreement_summary(report: AgreementReport, *, studio_url: str | None = None, project_id: int | None = None,
                      ) -> dict[str, Any]:
    """JSON-ready: ``{"tasks_compared", "pairs": [{"annotators", "tasks", "span_f1", "kappa", "by_label", ...}],
    "by_label", "disagreements": [{"task", "annotators", "only_a", "only_b", "link"}]}``."""
    def spans(items: tuple[tuple[int, int, str], ...], text: str) -> list[dict[str, Any]]:
        return [{"start": s, "end": e, "label": label, "text": text[s:e]} for s, e, label in items]

    return {
        "tasks_compared": report.tasks_compared,
        "pairs": [{"annotators": list(p.annotators), "tasks": p.tasks, "span_f1": round(p.span_f1, 4),
                   "kappa": round(p.kappa, 4), "tokens": p.tokens, "spans": [p.spans_a, p.spans_b],
                   "matched": p.matched, "by_label": {k: _label(v) for k, v in p.by_label.items()}}
                  for p in report.pairs],
        "by_label": {k: _label(v) for k, v in report.by_label.items()},
        "disagreements": [{"task": d.task, "annotators": list(d.annotators), "only_a": spans(d.only_a, d.text),
                           "only_b": spans(d.only_b, d.text), "link": task_link(studio_url, project_id, d.task)}
                          for d in report.disagreements],
    }
