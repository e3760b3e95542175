"""Projects in the models directory: one registry of rounds per project, and each project's own settings file.

Layout::

    models/
      project-1/              # Label Studio project 1 (a live project's id)
        project.json          # salt of the frozen splits, the user's overrides, the last round's outcome
        current  .lock  round-0001/ ...   # the registry of rounds (``store.registry``) of this project
      project-reviews/        # a named project of file-based rounds (``nerloop round --export F --project reviews``)
      project-default/        # rounds with no project named (``nerloop train``; /predict without a project)
      .rounds.lock            # held by whichever round trains: rounds of different projects run one at a time

A project is named by a Label Studio project id (digits) or a name (letters, digits, ``_.-``). ``project.json``
is the one place to edit a project's settings; it is validated on every read (``ProjectFile``) and an error names
the file and field. A registry of the older flat layout (``models/current``, ``models/round-NNNN``) is moved into
project folders by ``migrate_flat_registry``, each round to the project its manifest names; nothing is deleted.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import RegistryError
from core.project import DEFAULT_PROJECT, FOLDER_PREFIX, ProjectRef
from store import registry
from store.settings import SharedSettings

log = logging.getLogger(__name__)

PREFIX = FOLDER_PREFIX
PROJECT_FILE = "project.json"
ROUNDS_LOCK = ".rounds.lock"
SUGGESTIONS_LOCK = ".suggestions.lock"
TRAIN_OVERRIDES = ("base_model", "epochs", "learning_rate")  # the training settings a project.json may set
S = TypeVar("S", bound=SharedSettings)


class ProjectSettings(BaseModel):
    """Per-project overrides of the global settings (``NERLOOP_*``); unset fields fall through to those."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_model: str | None = Field(None, description="Recorded from the first round unless set here.")
    epochs: float | None = Field(None, gt=0)
    learning_rate: float | None = Field(None, gt=0)
    test_file: str | None = Field(None, description="Fixed test split (TAG<TAB>token) of this project; '' = none.")
    retrain_every: int | None = Field(None, ge=0, description="Annotation events per automatic round.")


class ProjectFile(BaseModel):
    """What ``project.json`` holds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project: str
    salt: str = Field(description="Salt of the hash that assigns each text to train, validation or test.")
    settings: ProjectSettings = Field(default_factory=ProjectSettings)
    last_round: dict[str, Any] | None = Field(None, description="Outcome of the newest round that ran.")


Project = ProjectRef | str | int | None  # a ProjectRef passes through; anything else is parsed once


def project_name(value: Project) -> str:
    """The canonical name of a project: a Label Studio id as digits, or a validated name (None: ``default``)."""
    return ProjectRef.parse(value).name


def is_studio_project(name: str) -> bool:
    return ProjectRef.parse(name).studio_id is not None


def project_dir(models_dir: str | Path, project: Project) -> Path:
    return Path(models_dir) / ProjectRef.parse(project).folder


def list_projects(models_dir: str | Path) -> list[str]:
    """Projects that have a folder here, ids in numeric order first, then names."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    names = [p.name[len(PREFIX):] for p in models_dir.iterdir() if p.is_dir() and p.name.startswith(PREFIX)]
    return sorted(names, key=lambda n: ProjectRef(n).sort_key)


def read_project(models_dir: str | Path, project: Project) -> ProjectFile | None:
    """The project's file, validated; None when the project has none yet."""
    path = project_dir(models_dir, project) / PROJECT_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise RegistryError(f"unreadable project file ({exc})", where=str(path),
                            hint="fix the JSON, or delete the file to start the project's settings afresh "
                                 "(deleting it also changes which texts are test texts)") from exc
    try:
        return ProjectFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise RegistryError(f"field {field!r}: {first['msg']} (found {first.get('input')!r})", where=str(path),
                            hint=f"allowed settings: {', '.join(ProjectSettings.model_fields)}") from exc


def open_project(models_dir: str | Path, project: Project, *, salt: str | None = None) -> ProjectFile:
    """The project's file, created when it has none. A new project's salt is ``salt`` or, by default, derived from
    its name (``nerloop-project-<name>``): recorded in the file, so it never changes with the code, and
    reproducible, so a registry rebuilt from scratch puts every text in the same split again."""
    existing = read_project(models_dir, project)
    if existing is not None:
        return existing
    name = project_name(project)
    created = ProjectFile(project=name, salt=salt or f"nerloop-project-{name}")
    write_project(models_dir, created)
    log.info("project %s: created %s", created.project, project_dir(models_dir, project) / PROJECT_FILE)
    return created


def write_project(models_dir: str | Path, data: ProjectFile) -> None:
    folder = project_dir(models_dir, data.project)
    folder.mkdir(parents=True, exist_ok=True)
    registry.write_json(folder / PROJECT_FILE, data.model_dump(mode="json"))


def update_settings(models_dir: str | Path, project: Project, **changes: Any) -> ProjectFile:
    """Set (or, with None, unset) per-project settings; validated before anything is written."""
    current = open_project(models_dir, project)
    merged = {**current.settings.model_dump(), **changes}
    try:
        new_settings = ProjectSettings.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise RegistryError(f"setting {'.'.join(map(str, first['loc']))!r}: {first['msg']}",
                            where=str(project_dir(models_dir, project) / PROJECT_FILE),
                            hint=f"allowed settings: {', '.join(ProjectSettings.model_fields)}") from exc
    updated = current.model_copy(update={"settings": new_settings})
    write_project(models_dir, updated)
    return updated


def record_last_round(models_dir: str | Path, project: Project, outcome: dict[str, Any]) -> None:
    """Keep the newest round's outcome (``status``: promoted | kept | failed, round, reason or error, time)."""
    current = open_project(models_dir, project)
    write_project(models_dir, current.model_copy(update={"last_round": {**outcome, "finished": _now()}}))


def record_round_start(models_dir: str | Path, project: Project) -> None:
    """Record that a round of the project runs now (``status`` running, its pid and host), so a round killed before
    it could record its outcome still shows, as failed (``last_round``)."""
    current = open_project(models_dir, project)
    write_project(models_dir, current.model_copy(update={"last_round": {
        "status": "running", "pid": os.getpid(), "host": socket.gethostname(), "started": _now()}}))


def last_round(record: ProjectFile | None) -> dict[str, Any] | None:
    """The project's newest round outcome, as every view shows it: a round recorded as running whose process no
    longer exists on this host was killed (or its machine restarted), so it is a failed round."""
    last = record.last_round if record else None
    if not last or last.get("status") != "running" or last.get("host") != socket.gethostname():
        return last
    try:
        os.kill(int(last["pid"]), 0)
    except ProcessLookupError:
        return {**last, "status": "failed",
                "error": f"the round started at {last.get('started')} (pid {last['pid']}) stopped before it "
                         "finished (killed, or out of memory); nothing it wrote is served: run the next round"}
    except (PermissionError, KeyError, TypeError, ValueError):
        pass
    return last


def round_settings(settings: S, project: ProjectFile, overrides: Mapping[str, Any] | None = None) -> S:
    """The settings of one round of ``project``: command-line ``overrides`` > ``project.json`` > ``settings``
    (the environment and the defaults)."""
    chosen = project.settings
    train = {name: getattr(chosen, name) for name in TRAIN_OVERRIDES if getattr(chosen, name) is not None}
    update: dict[str, Any] = {}
    if chosen.test_file is not None:
        update["test_file"] = Path(chosen.test_file) if chosen.test_file else None
    given = dict(overrides or {})
    if "test_file" in given:
        update["test_file"] = given.pop("test_file")
    settings = settings.model_copy(update=update) if update else settings
    return with_overrides(settings, {**train, **{k: v for k, v in given.items() if v is not None}})


def with_overrides(settings: S, overrides: Mapping[str, Any] | None) -> S:
    """``settings`` with the training settings given in ``overrides`` (None values: not given)."""
    train = {k: v for k, v in (overrides or {}).items() if v is not None}
    return settings.model_copy(update={"train": settings.train.model_copy(update=train)}) if train else settings


@contextmanager
def training_slot(models_dir: str | Path, say: Any = log.info) -> Iterator[None]:
    """Hold the models directory's rounds lock, waiting for a round of another project to finish first."""
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    with (models_dir / ROUNDS_LOCK).open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            say(f"waiting for the running round ({handle.read().strip() or 'another process'}) to finish: "
                "rounds share the cores or the GPU, so they run one at a time")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield


@contextmanager
def suggestions_slot(models_dir: str | Path, project: Project, holder: str, *, say: Any = log.info,
                     stop: threading.Event | None = None, poll: float = 0.2) -> Iterator[bool]:
    """Be the one writer of the project's stored predictions (``nerloop predict``, the backend's refresh after a
    promotion): both check "already predicted by this round" and then store, so two at once would store twice.

    An ``flock`` on ``project-<id>/.suggestions.lock``, the folder both read the round from, so it holds across
    processes and the kernel releases it when its holder dies. Waits for the holder (named in the file) to finish;
    yields True once held, or False when ``stop`` was set while waiting (then nothing may be stored)."""
    folder = project_dir(models_dir, project)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / SUGGESTIONS_LOCK).open("a+", encoding="utf-8") as handle:
        told = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    handle.seek(0)
                    say(f"project {project_name(project)}: waiting for {handle.read().strip() or 'another process'}"
                        " to finish storing predictions (one writer at a time, so no task gets one twice)")
                    told = True
                if stop is None:
                    time.sleep(poll)
                elif stop.wait(poll):
                    yield False
                    return
        handle.seek(0)
        handle.truncate()
        handle.write(f"{holder} (pid {os.getpid()})\n")
        handle.flush()
        yield True


def migrate_flat_registry(models_dir: str | Path) -> list[str]:
    """Move rounds of the flat layout into project folders; returns what was done, one line per move.

    Each ``round-NNNN`` goes to the project named in its manifest (``extra.source.project``), or to ``default``;
    round names are kept. The flat ``current`` moves with the round it names; a project whose rounds it did not
    name gets its newest promoted round as ``current``. Nothing is deleted; call it before anything else reads
    the models directory (the CLI and the backend do at start)."""
    models_dir = Path(models_dir)
    flat_rounds = registry.list_rounds(models_dir)
    pointer = models_dir / registry.CURRENT
    if not flat_rounds and not pointer.exists():
        return []
    with registry.round_lock(models_dir):
        flat_rounds = registry.list_rounds(models_dir)
        served = pointer.read_text(encoding="utf-8").strip() if pointer.exists() else None
        done: list[str] = []
        targets: dict[str, list[registry.RoundRecord]] = {}
        for record in flat_rounds:
            source = (record.manifest.get("extra") or {}).get("source") or {}
            owner = source.get("project")
            targets.setdefault(project_name(owner) if owner not in (None, "") else DEFAULT_PROJECT, []).append(record)
        for project, records in targets.items():
            folder = project_dir(models_dir, project)
            folder.mkdir(parents=True, exist_ok=True)
            for record in records:
                if (folder / record.name).exists():
                    raise RegistryError(f"cannot migrate {record.name}: {folder / record.name} exists",
                                        where=str(record.path), hint="move one of the two folders aside by hand")
                os.rename(record.path, folder / record.name)
                done.append(f"{record.name} -> {folder.name}/{record.name}")
            names = [r.name for r in records]
            chosen = served if served in names else next(
                (r.name for r in reversed(records) if r.manifest.get("promoted")), None)
            if chosen:
                registry.set_current(folder, chosen)
                done.append(f"{folder.name}/current -> {chosen}")
            open_project(models_dir, project)
        if pointer.exists():
            os.replace(pointer, models_dir / f"{registry.CURRENT}.migrated")
        for line in done:
            log.warning("migrated the flat registry: %s", line)
        return done


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
