"""The one Label Studio gateway: every call nerloop makes to Label Studio goes through a ``Studio``.

``Studio.connect(url, api_key)`` checks the key once; its methods cover what nerloop does with a project: its label
config, tasks (import, count, read a Data Manager view), export snapshots, ML backend connections and model cards,
predictions (bulk import, list, delete) and users. ``call`` is one plain-JSON request through the SDK's own HTTP
client (base URL, key, retries): the SDK encodes a request body with pydantic (160 ms for 1,250 predictions, against
18 ms for ``json.dumps``) and decodes a page of tasks into models, holding the GIL while a model predicts, so the
bulk paths use it. This is the only module that imports ``label_studio_sdk`` or touches its internals.

Every failure becomes a ``StudioError`` that says what was being done, names the URL and says what to do; the API
key is never part of a message.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from core.errors import StudioError
from labeling_config import LabelConfig, parse_config

log = logging.getLogger(__name__)
EXPORT_FORMATS = {"JSON": "export.json", "CONLL2003": "export.conll", "JSON_MIN": "export.min.json"}


@dataclass(frozen=True)
class Snapshot:
    """One export snapshot of a project, downloaded in one or more formats."""

    project_id: int
    export_id: int
    files: dict[str, Path]  # export type -> file


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


def task_link(studio_url: str | None, project_id: int | None, task_id: Any) -> str | None:
    """Where a reviewer opens the task in Label Studio's Data Manager: the one builder of task addresses."""
    if not studio_url or project_id is None or task_id is None:
        return None
    return f"{studio_url.rstrip('/')}/projects/{project_id}/data?task={task_id}"


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else value.dict()


class Studio:
    """A connected Label Studio (``Studio.connect``)."""

    def __init__(self, url: str, client: LabelStudio) -> None:
        self.url = url.rstrip("/")
        self._client = client

    @classmethod
    def connect(cls, url: str, api_key: str | None, *, timeout: float = 120) -> Studio:
        """A gateway to ``url``; fails fast with a clear message when the server is down or the key is refused."""
        if not api_key:
            raise StudioError("no Label Studio API key", where=url,
                              hint="set NERLOOP_STUDIO_API_KEY (or LABEL_STUDIO_API_KEY) to your token from "
                                   "Label Studio's Account & Settings page")
        studio = cls(url, LabelStudio(base_url=url.rstrip("/"), api_key=api_key, timeout=timeout))
        with studio.errors("checking the API key"):
            studio._client.projects.list(page_size=1)
        return studio

    def errors(self, doing: str) -> AbstractContextManager[None]:
        """``studio_errors`` for this server."""
        return studio_errors(self.url, doing)

    def call(self, path: str, method: str = "GET", *, params: dict[str, Any] | None = None,
             body: Any = None) -> Any:
        """One request, ``body`` sent as JSON (bytes are sent as they are); the reply's JSON. A reply that is not
        2xx raises the SDK's ``ApiError``, as the SDK's own calls do (``errors`` turns it into a StudioError)."""
        content = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        reply = self._client._client_wrapper.httpx_client.request(
            path, method=method, params=params, content=content,
            headers={"Content-Type": "application/json"} if content is not None else None)
        if not 200 <= reply.status_code < 300:
            try:
                detail: Any = reply.json()
            except ValueError:
                detail = reply.text
            raise ApiError(status_code=reply.status_code, headers=dict(reply.headers), body=detail)
        return reply.json() if reply.content else None

    # -- projects ---------------------------------------------------------------------------------------------

    def label_config_xml(self, project_id: int) -> str:
        with self.errors(f"reading project {project_id}"):
            return str(self._client.projects.get(id=project_id).label_config)

    def label_config(self, project_id: int) -> LabelConfig:
        """The project's labeling config, parsed (an unusable one is a ConfigError naming the project)."""
        return parse_config(self.label_config_xml(project_id), source=f"project {project_id} label config")

    def find_or_create_project(self, title: str, label_config: str) -> tuple[int, bool]:
        """The id of the project titled ``title`` (created with ``label_config`` if none); and whether it was new."""
        with self.errors(f"finding project {title!r}"):
            for project in self._client.projects.list(title=title):
                if project.title == title:
                    return int(project.id), False
        with self.errors(f"creating project {title!r}"):
            project = self._client.projects.create(title=title, label_config=label_config)
        return int(project.id), True

    def count_tasks(self, project_id: int) -> tuple[int, int]:
        """(tasks, tasks with at least one annotation) of the project."""
        with self.errors(f"counting tasks of project {project_id}"):
            project = self._client.projects.get(id=project_id)
        return int(project.task_number or 0), int(project.num_tasks_with_annotations or 0)

    # -- tasks ------------------------------------------------------------------------------------------------

    def import_tasks(self, project_id: int, tasks: Sequence[dict[str, Any]], *, chunk: int = 500,
                     progress: Callable[[int], None] | None = None) -> list[int]:
        """Import tasks (with annotations/predictions if they carry them) in chunks; returns the new task ids."""
        ids: list[int] = []
        for start in range(0, len(tasks), chunk):
            part = list(tasks[start:start + chunk])
            with self.errors(f"importing tasks {start + 1}-{start + len(part)} into project {project_id}"):
                reply = self._client.projects.import_tasks(id=project_id, request=part, return_task_ids=True)
            ids.extend(reply.task_ids or [])
            if progress:
                progress(len(part))
        return ids

    def all_tasks(self, project_id: int, *, view: int | None = None, page_size: int = 1000,
                  ) -> Iterator[dict[str, Any]]:
        """Every task of the project (or of a Data Manager view: a view's own filters replace a request's query in
        Label Studio, so a view is read whole) with all its fields, its predictions among them."""
        with self.errors(f"reading the tasks of project {project_id}"):
            for task in self._client.tasks.list(project=project_id, view=view, fields="all", page_size=page_size):
                yield _as_dict(task)

    def task_predictions(self, task_id: int) -> list[dict[str, Any]]:
        return list(self.call(f"api/tasks/{task_id}/").get("predictions") or [])

    # -- predictions ------------------------------------------------------------------------------------------

    def import_predictions(self, project_id: int, predictions: list[dict[str, Any]] | bytes) -> None:
        """Store predictions in bulk (``import/predictions``: each ``{"task", "result", "score",
        "model_version"}``); bytes are an already-encoded JSON list."""
        self.call(f"api/projects/{project_id}/import/predictions", "POST", body=predictions)

    def predictions_of(self, task_id: int) -> list[dict[str, Any]]:
        """The task's predictions, each with its ``id``, ``model_version`` and ``created_at``."""
        with self.errors(f"listing the predictions of task {task_id}"):
            return [_as_dict(p) for p in self._client.predictions.list(task=task_id)]

    def delete_prediction(self, prediction_id: int) -> None:
        with self.errors(f"deleting prediction {prediction_id}"):
            self._client.predictions.delete(id=prediction_id)

    def model_versions(self, project_id: int) -> set[str] | None:
        """The model versions of the project's predictions, or None when the server does not say."""
        found = self._versions_reply(project_id)
        return None if found is None else {str(v) for v in found}

    def prediction_counts(self, project_id: int) -> dict[str, int] | None:
        """How many predictions the project holds of each model version, or None when the server does not say."""
        found = self._versions_reply(project_id)
        return {str(v): int(n or 0) for v, n in found.items()} if isinstance(found, dict) else None

    def _versions_reply(self, project_id: int) -> Any:
        """``GET /api/projects/{id}/model-versions/`` (1.23: ``{version: predictions}``; the SDK has no call for it),
        or None when the server does not answer it."""
        try:
            return self.call(f"api/projects/{project_id}/model-versions/")
        except Exception as err:  # an older or newer server: callers fall back to an exact check
            log.debug("project %s: no model-versions (%s)", project_id, err)
            return None

    def request_predictions(self, project_id: int) -> None:
        """Ask Label Studio to fetch predictions from the connected backend for every task of the project.

        This is the Data Manager's "Retrieve Predictions" action; Label Studio skips tasks that already have a
        prediction from the backend's current model version. (``ml.predict_all_tasks`` is not served by the
        open-source edition.)
        """
        with self.errors(f"retrieving predictions for project {project_id}"):
            self._client.actions.create(id="retrieve_tasks_predictions", project=project_id,
                                        selected_items={"all": True, "excluded": []})

    # -- ML backends ------------------------------------------------------------------------------------------

    def connect_backend(self, project_id: int, backend_url: str, *, title: str = "nerloop") -> int:
        """Connect the ML backend at ``backend_url`` to the project (reusing an existing connection to that URL)."""
        with self.errors(f"listing ML backends of project {project_id}"):
            for ml in self._client.ml.list(project=project_id):
                if ml.url.rstrip("/") == backend_url.rstrip("/"):
                    return int(ml.id)
        with self.errors(f"connecting the ML backend {backend_url} to project {project_id}"):
            ml = self._client.ml.create(project=project_id, url=backend_url, title=title, auth_method="NONE",
                                        is_interactive=False)
        return int(ml.id)

    def publish_round_status(self, project_id: int, text: str) -> int:
        """Write a round's outcome into the description of the project's nerloop ML backends (Settings › Model
        shows it), so a failed round is visible where annotators look. Backends whose title is not ``nerloop`` and
        whose description does not start with ``nerloop:`` are left alone. Best effort: returns how many were
        updated."""
        updated = 0
        try:
            for ml in self._client.ml.list(project=project_id):
                if ml.title == "nerloop" or (ml.description or "").startswith("nerloop:"):
                    # Label Studio 1.23 validates a PATCH by calling /health and /setup with the fields sent, so the
                    # connection's own fields go along with the description
                    auth = ({"basic_auth_user": ml.basic_auth_user} if ml.auth_method == "BASIC_AUTH" else {})
                    self._client.ml.update(id=int(ml.id), url=ml.url, project=project_id,
                                           auth_method=ml.auth_method, description=f"nerloop: {text}"[:1000], **auth)
                    updated += 1
        except ApiError as exc:
            log.warning("could not show the round's outcome in Label Studio (project %s): HTTP %s %s", project_id,
                        exc.status_code, _detail(exc.body))
        except httpx.HTTPError as exc:
            log.warning("could not show the round's outcome in Label Studio (project %s): %s", project_id, exc)
        return updated

    # -- users and exports ------------------------------------------------------------------------------------

    def user_emails(self) -> dict[int, str]:
        """Emails by user id; empty (ids are shown) when this server does not list users to this token."""
        try:
            with self.errors("listing users"):
                return {int(u.id): str(u.email) for u in self._client.users.list() if u.id is not None and u.email}
        except StudioError as err:
            log.warning("annotators are shown by id: %s", err)
            return {}

    def snapshot_export(self, project_id: int, out_dir: Path, *, formats: Sequence[str] = ("JSON",),
                        annotated_only: bool = True, timeout: float = 600.0) -> Snapshot:
        """Create an export snapshot, wait for it, download it in ``formats`` into ``out_dir``.

        ``annotated_only`` (the default) leaves out tasks without annotations: they are not training data, and
        Label Studio's CONLL2003 writes them as all-``O`` blocks that look like annotations with no entities.
        """
        unknown = set(formats) - set(EXPORT_FORMATS)
        if unknown:
            raise StudioError(f"unknown export format(s) {sorted(unknown)}", hint=f"use {sorted(EXPORT_FORMATS)}")
        out_dir.mkdir(parents=True, exist_ok=True)
        exports = self._client.projects.exports
        with self.errors(f"creating an export snapshot of project {project_id}"):
            filters = {"task_filter_options": {"only_with_annotations": True}} if annotated_only else {}
            export = exports.create(id=project_id, title="nerloop round", **filters)
            deadline = time.monotonic() + timeout
            while str(export.status) not in ("completed", "failed"):
                if time.monotonic() > deadline:
                    raise StudioError(f"export snapshot {export.id} of project {project_id} not ready after "
                                      f"{timeout:.0f} s", where=self.url, hint="retry later; large projects take "
                                                                               "longer")
                time.sleep(0.5)
                export = exports.get(id=project_id, export_pk=export.id)
        if str(export.status) == "failed":
            raise StudioError(f"export snapshot {export.id} of project {project_id} failed", where=self.url,
                              hint="see Label Studio's log")
        files: dict[str, Path] = {}
        for fmt in formats:
            path = out_dir / EXPORT_FORMATS[fmt]
            with self.errors(f"downloading the {fmt} export of project {project_id}"):
                path.write_bytes(b"".join(exports.download(id=project_id, export_pk=export.id, export_type=fmt)))
            files[fmt] = path
        log.info("exported project %s (snapshot %s) to %s", project_id, export.id, out_dir)
        return Snapshot(project_id, int(export.id), files)
