"""What the local stack runs, recorded in ``work_dir/stack.json`` (mode 0600: it holds the login), and where the
Label Studio login is kept (``work_dir/studio-login.json``)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from core.errors import StudioError


@dataclass(frozen=True)
class StackInfo:
    """What ``up`` started, in ``work_dir/stack.json`` (mode 0600: it holds the login). Written as soon as each
    service starts, so ``down`` can stop it and a re-run of ``up`` can reuse it even when ``up`` failed later."""

    studio_url: str
    username: str
    password: str
    studio_pid: int
    backend_url: str | None = None
    backend_pid: int | None = None
    project_id: int | None = None
    ml_id: int | None = None
    model_version: str | None = None


def state_path(work_dir: Path) -> Path:
    return work_dir / "stack.json"


def login_path(work_dir: Path) -> Path:
    return work_dir / "studio-login.json"


def read_state(work_dir: Path) -> StackInfo | None:
    path = state_path(work_dir)
    if not path.exists():
        return None
    try:
        return StackInfo(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise StudioError(f"unreadable stack record ({exc})", where=str(path),
                          hint="stop the services it names by hand (or leave them), then delete the file") from exc


def save_state(work_dir: Path, info: StackInfo) -> StackInfo:
    """Replace the record atomically (created 0600); returns ``info``."""
    path = state_path(work_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(info), out, indent=2)
    os.replace(tmp, path)
    return info


@dataclass(frozen=True)
class StackConnection:
    """How to reach the Label Studio of the stack recorded in a work dir."""

    url: str
    token: str | None  # None when the login file is missing or unreadable
    record: Path  # the stack record it came from


def stack_connection(work_dir: Path) -> StackConnection | None:
    """The Label Studio URL and API token of the stack ``nerloop up`` started in ``work_dir`` (None without a
    record). Whether that Label Studio still runs is found out by whoever connects to it."""
    info = read_state(work_dir)
    if info is None:
        return None
    try:
        token = json.loads(login_path(work_dir).read_text(encoding="utf-8")).get("token")
    except (OSError, ValueError, AttributeError):
        token = None
    return StackConnection(info.studio_url, str(token) if token else None, state_path(work_dir))
