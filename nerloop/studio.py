"""Label Studio through its SDK (label-studio-sdk 2.1.2): projects, tasks, ML backends and export snapshots.

Every failure becomes a StudioError that names the URL or project and says what to do; the API key is never
part of a message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from core.errors import StudioError

log = logging.getLogger(__name__)
EXPORT_FORMATS = {"JSON": "export.json", "CONLL2003": "export.conll", "JSON_MIN": "export.min.json"}


@dataclass(frozen=True)
class Snapshot:
    """One export snapshot of a project, downloaded in one or more formats."""

    project_id: int
    export_id: int
    files: dict[str, Path]  # export type -> file


def connect(url: str, api_key: str | None) -> LabelStudio:
    """An SDK client for ``url``; fails fast with a clear message when the server is down or the key is refused."""
    if not api_key:
        raise StudioError("no Label Studio API key", where=url,
                          hint="set NERLOOP_STUDIO_API_KEY (or LABEL_STUDIO_API_KEY) to your token from "
                               "Label Studio's Account & Settings page")
    client = LabelStudio(base_url=url.rstrip("/"), api_key=api_key, timeout=120)
    with studio_errors(url, "checking the API key"):
        client.projects.list(page_size=1)
    return client


@contextmanager
def studio_errors(url: str, doing: str) -> Iterator[None]:
    """Turn SDK and HTTP failures into one StudioError that says what we were doing and what to do."""
    try:
        yield
    except ApiError as exc:
        hint = ("check the API key (legacy tokens need LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true on a new server)"
                if exc.status_code in (401, 403) else "see Label Studio's log")
        raise StudioError(f"{doing} failed: HTTP {exc.status_code} {_detail(exc.body)}", where=url,
                          hint=hint) from exc
    except httpx.HTTPError as exc:
        raise StudioError(f"{doing} failed: cannot reach Label Studio ({type(exc).__name__})", where=url,
                          hint="start it (`nerloop up`) or set NERLOOP_STUDIO_URL to where it runs") from exc


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("validation_errors") or body.get("detail") or body)[:300]
    text = str(body).strip()
    return "(an HTML page: no such API endpoint on this server)" if text.startswith("<") else text[:300]


def find_or_create_project(client: LabelStudio, url: str, title: str, label_config: str) -> tuple[int, bool]:
    """The id of the project titled ``title`` (created with ``label_config`` if none); and whether it was new."""
    with studio_errors(url, f"finding project {title!r}"):
        for project in client.projects.list(title=title):
            if project.title == title:
                return int(project.id), False
    with studio_errors(url, f"creating project {title!r}"):
        project = client.projects.create(title=title, label_config=label_config)
    return int(project.id), True


def project_label_config(client: LabelStudio, url: str, project_id: int) -> str:
    with studio_errors(url, f"reading project {project_id}"):
        return str(client.projects.get(id=project_id).label_config)


def count_tasks(client: LabelStudio, url: str, project_id: int) -> tuple[int, int]:
    """(tasks, tasks with at least one annotation) of the project."""
    with studio_errors(url, f"counting tasks of project {project_id}"):
        project = client.projects.get(id=project_id)
    return int(project.task_number or 0), int(project.num_tasks_with_annotations or 0)


def import_tasks(client: LabelStudio, url: str, project_id: int, tasks: Sequence[dict[str, Any]], *,
                 chunk: int = 500, progress: Callable[[int], None] | None = None) -> list[int]:
    """Import tasks (with annotations/predictions if they carry them) in chunks; returns the new task ids."""
    ids: list[int] = []
    for start in range(0, len(tasks), chunk):
        part = list(tasks[start:start + chunk])
        with studio_errors(url, f"importing tasks {start + 1}-{start + len(part)} into project {project_id}"):
            reply = client.projects.import_tasks(id=project_id, request=part, return_task_ids=True)
        ids.extend(reply.task_ids or [])
        if progress:
            progress(len(part))
    return ids


def connect_backend(client: LabelStudio, url: str, project_id: int, backend_url: str, *,
                    title: str = "nerloop") -> int:
    """Connect the ML backend at ``backend_url`` to the project (reusing an existing connection to that URL)."""
    with studio_errors(url, f"listing ML backends of project {project_id}"):
        for ml in client.ml.list(project=project_id):
            if ml.url.rstrip("/") == backend_url.rstrip("/"):
                return int(ml.id)
    with studio_errors(url, f"connecting the ML backend {backend_url} to project {project_id}"):
        ml = client.ml.create(project=project_id, url=backend_url, title=title, auth_method="NONE",
                              is_interactive=False)
    return int(ml.id)


def publish_round_status(client: LabelStudio, url: str, project_id: int, text: str) -> int:
    """Write a round's outcome into the description of the project's nerloop ML backends (Settings › Model shows
    it), so a failed round is visible where annotators look. Backends whose title is not ``nerloop`` and whose
    description does not start with ``nerloop:`` are left alone. Best effort: returns how many were updated."""
    updated = 0
    try:
        for ml in client.ml.list(project=project_id):
            if ml.title == "nerloop" or (ml.description or "").startswith("nerloop:"):
                # Label Studio 1.23 validates a PATCH by calling /health and /setup with the fields sent, so the
                # connection's own fields go along with the description
                auth = ({"basic_auth_user": ml.basic_auth_user} if ml.auth_method == "BASIC_AUTH" else {})
                client.ml.update(id=int(ml.id), url=ml.url, project=project_id, auth_method=ml.auth_method,
                                 description=f"nerloop: {text}"[:1000], **auth)
                updated += 1
    except ApiError as exc:
        log.warning("could not show the round's outcome in Label Studio (project %s): HTTP %s %s", project_id,
                    exc.status_code, _detail(exc.body))
    except httpx.HTTPError as exc:
        log.warning("could not show the round's outcome in Label Studio (project %s): %s", project_id, exc)
    return updated


def request_predictions(client: LabelStudio, url: str, project_id: int) -> None:
    """Ask Label Studio to fetch predictions from the connected backend for every task of the project.

    This is the Data Manager's "Retrieve Predictions" action; Label Studio skips tasks that already have a
    prediction from the backend's current model version. (``ml.predict_all_tasks`` is not served by the
    open-source edition.)
    """
    with studio_errors(url, f"retrieving predictions for project {project_id}"):
        client.actions.create(id="retrieve_tasks_predictions", project=project_id,
                              selected_items={"all": True, "excluded": []})


def snapshot_export(client: LabelStudio, url: str, project_id: int, out_dir: Path, *,
                    formats: Sequence[str] = ("JSON",), annotated_only: bool = True,
                    timeout: float = 600.0) -> Snapshot:
    """Create an export snapshot, wait for it, download it in ``formats`` into ``out_dir``.

    ``annotated_only`` (the default) leaves out tasks without annotations: they are not training data, and
    Label Studio's CONLL2003 writes them as all-``O`` blocks that look like annotations with no entities.
    """
    unknown = set(formats) - set(EXPORT_FORMATS)
    if unknown:
        raise StudioError(f"unknown export format(s) {sorted(unknown)}", hint=f"use {sorted(EXPORT_FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    with studio_errors(url, f"creating an export snapshot of project {project_id}"):
        filters = {"task_filter_options": {"only_with_annotations": True}} if annotated_only else {}
        export = client.projects.exports.create(id=project_id, title="nerloop round", **filters)
        deadline = time.monotonic() + timeout
        while str(export.status) not in ("completed", "failed"):
            if time.monotonic() > deadline:
                raise StudioError(f"export snapshot {export.id} of project {project_id} not ready after "
                                  f"{timeout:.0f} s", where=url, hint="retry later; large projects take longer")
            time.sleep(0.5)
            export = client.projects.exports.get(id=project_id, export_pk=export.id)
    if str(export.status) == "failed":
        raise StudioError(f"export snapshot {export.id} of project {project_id} failed", where=url,
                          hint="see Label Studio's log")
    files: dict[str, Path] = {}
    for fmt in formats:
        path = out_dir / EXPORT_FORMATS[fmt]
        with studio_errors(url, f"downloading the {fmt} export of project {project_id}"):
            path.write_bytes(b"".join(client.projects.exports.download(id=project_id, export_pk=export.id,
                                                                        export_type=fmt)))
        files[fmt] = path
    log.info("exported project %s (snapshot %s) to %s", project_id, export.id, out_dir)
    return Snapshot(project_id, int(export.id), files)
