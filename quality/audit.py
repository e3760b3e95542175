"""``nerloop audit``: which labels of this round are probably wrong?

The round's annotated sentences (one annotation per task, the settings' policy, as a round trains on) get
out-of-sample word probabilities by k-fold cross-validation (``quality.folds``) and are ranked by cleanlab
(``quality.label_issues``). An issue is a task with at least one word cleanlab flags, most suspect first.

Published into Label Studio (``publish_issues``), each issue becomes a prediction on its task with
``model_version`` ``label-issues``: the model's spans as the suggested fix and the quality score as the
prediction's score, so reviewers filter the Data Manager by that model version (or sort by prediction score) and
compare the annotation with the suggestion in the labeling view. A new audit replaces the previous one's
predictions.

An audit of a project is also saved as ``audit.json`` in the project's folder (``save_audit``): the project's next
round report, and ``nerloop report`` of any of its rounds, show it as the "Probable label errors" section with its
date (the finder trains k models, so it runs when asked, not in every round).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from converters.corpus import Sentence, decode_entities
from converters.export import choose_annotation, read_export, read_export_tasks
from converters.regions import span_region
from converters.tokens import tokenize
from core.errors import TrainingError
from labeling_config import LabelConfig
from quality.agreement import annotator_of
from quality.agreement_summary import export_source
from quality.folds import estimate_seconds, measure_step_seconds, out_of_sample_probs
from quality.label_issues import SentenceQuality, rank_sentences
from store import projects
from store.projects import project_dir
from store.registry import write_json
from store.settings import SharedSettings
from store.studio import Studio, task_link
from store.task_pages import predicted_ids
from training.base_model import resolve_base_model
from training.device import select_device
from training.fine_tune import Progress
from training.manifest import now
from training.report_sections import AUDIT_FILE

log = logging.getLogger(__name__)
MODEL_VERSION = "label-issues"
PUBLISH_CHUNK = 1000  # predictions per bulk import request


@dataclass(frozen=True)
class TaskInfo:
    task: Any
    text: str
    annotation: int | None
    annotator: int | str | None


def load_sentences(path: Path, config: LabelConfig, policy: str, names: dict[int, str],
                   ) -> tuple[list[Sentence], list[TaskInfo]]:
    """The sentences a round would train on, each with its task, the annotation used and who made it."""
    sentences, _report = read_export(path, config, policy=policy)
    _, tasks = read_export_tasks(path, config)
    by_source: dict[str, TaskInfo] = {}
    for task_id, text, task_annotations in tasks:
        chosen = choose_annotation(task_annotations, policy)
        if chosen is not None:  # read_export names a sentence's source "task <id>"
            by_source[f"task {task_id}"] = TaskInfo(task_id, text, chosen.id, annotator_of(chosen, names))
    return sentences, [by_source[s.source] for s in sentences]


def audit(settings: SharedSettings, *, project_id: int | None = None, export_file: Path | None = None, folds: int = 5,
          out_dir: Path, say: Callable[[str], None] = lambda _msg: None, progress: Progress | None = None,
          overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Find the probable label errors; returns ``{"issues": [...], "folds", "sentences", ...}`` (JSON-ready).
    The folds train with ``overrides`` (the command line: base model, epochs), then a live project's own settings
    (``project.json``), then ``settings``, as its rounds do."""
    if project_id is not None:
        settings = projects.round_settings(settings, projects.open_project(settings.models_dir, project_id),
                                           overrides)
    else:
        settings = projects.with_overrides(settings, overrides)
    path, config, names = export_source(settings, project_id=project_id, export_file=export_file, out_dir=out_dir)
    sentences, infos = load_sentences(path, config, settings.annotation_policy, names)
    if len(sentences) < max(folds, 4):
        raise TrainingError(f"{len(sentences)} annotated sentence(s) are too few to audit with {folds} folds",
                            where=str(path), hint="annotate more tasks first")
    train = settings.train
    cluster = settings.ray if settings.executor == "ray" else None
    if cluster is not None:
        say(f"{folds} folds x {train.epochs:g} epochs over {len(sentences)} sentences: each fold is a task on the Ray "
            f"cluster at {cluster.address}, side by side as far as its resources allow")
    elif select_device(train.device, num_threads=train.num_threads).kind == "cpu":
        step = measure_step_seconds(sentences, config, train, resolve_base_model(train.base_model))
        minutes = estimate_seconds(len(sentences), folds, train, step_seconds=step) / 60
        say(f"{folds} folds x {train.epochs:g} epochs over {len(sentences)} sentences on the CPU: this will take "
            f"about {max(1, round(minutes))} minutes (--folds 2 or fewer --epochs for speed)")
    oos = out_of_sample_probs(sentences, config, train, folds=folds, seed=settings.split_seed, say=say,
                              progress=progress, cluster=cluster)
    ranked = rank_sentences(sentences, oos.probs, config)
    studio_url = settings.studio_url if project_id is not None else None
    issues = [issue_record(q, sentences[q.index], infos[q.index], config, studio_url, project_id)
              for q in ranked if q.flagged]
    return {"issues": issues, "sentences": len(sentences), "folds": folds, "epochs": train.epochs,
            "base_model": train.base_model, "seconds": round(oos.seconds, 1), "export": str(path),
            "executor": settings.executor}


def save_audit(models_dir: Path, project_id: int, found: dict[str, Any]) -> Path:
    """Keep the audit in the project's folder (``audit.json``, dated) for its round reports; returns the file."""
    folder = project_dir(models_dir, project_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / AUDIT_FILE
    write_json(path, {**found, "created": now()})
    return path


def _char_spans(text: str, tags: tuple[str, ...]) -> list[dict[str, Any]]:
    tokens = tokenize(text)
    spans = []
    for entity in decode_entities(tags):
        start, end = tokens[entity.start].start, tokens[entity.end - 1].end
        spans.append({"start": start, "end": end, "text": text[start:end], "label": entity.label})
    return spans


def issue_record(quality: SentenceQuality, sentence: Sentence, info: TaskInfo, config: LabelConfig,
                 studio_url: str | None, project_id: int | None) -> dict[str, Any]:
    return {
        "task": info.task, "score": round(quality.score, 6), "annotation": info.annotation,
        "annotator": info.annotator, "text": info.text,
        "words": [{"index": w.index, "word": w.word, "annotated": w.annotated, "suggested": w.predicted,
                   "score": round(w.score, 4)} for w in quality.words],
        "annotated_spans": _char_spans(info.text, sentence.tags),
        "suggested_spans": _char_spans(info.text, quality.predicted_tags),
        "link": task_link(studio_url, project_id, info.task),
    }


def prediction_result(spans: list[dict[str, Any]], config: LabelConfig) -> list[dict[str, Any]]:
    """An issue's spans (``start``, ``end``, ``text``, ``label``) as a prediction's regions."""
    return [span_region(s["start"], s["end"], s["text"], s["label"], config) for s in spans]


def publish_issues(settings: SharedSettings, project_id: int, issues: list[dict[str, Any]]) -> int:
    """Replace the project's ``label-issues`` predictions with one per issue (the model's spans, the quality
    score); returns how many were created."""
    studio = Studio.connect(settings.studio_url, settings.api_key)
    config = studio.label_config(project_id)
    with projects.suggestions_slot(settings.models_dir, project_id, "nerloop audit --publish"):
        with studio.errors(f"removing the previous {MODEL_VERSION} predictions of project {project_id}"):
            old = [p["id"] for task in sorted(predicted_ids(studio, project_id, MODEL_VERSION))
                   for p in studio.predictions_of(task) if p.get("model_version") == MODEL_VERSION]
            for prediction_id in old:
                studio.delete_prediction(prediction_id)
        for start in range(0, len(issues), PUBLISH_CHUNK):
            part = issues[start:start + PUBLISH_CHUNK]
            with studio.errors(f"publishing the label issues of tasks {part[0]['task']}-{part[-1]['task']}"):
                studio.import_predictions(project_id, [
                    {"task": issue["task"], "model_version": MODEL_VERSION, "score": issue["score"],
                     "result": prediction_result(issue["suggested_spans"], config)} for issue in part])
    log.info("published %d %s predictions to project %s (removed %d)", len(issues), MODEL_VERSION, project_id,
             len(old))
    return len(issues)
