"""The local Label Studio server (the ``studio`` extra): its login, its environment and its start; SQLite, bound to
loopback, offline-safe settings.

Label Studio reads several unprefixed variables (USERNAME, PASSWORD, PORT, HOST, DEBUG, USER_TOKEN), so it is
started with a clean, explicit environment rather than ours.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from core.errors import StudioError
from stack.services import Service, start_service


@dataclass(frozen=True)
class StudioLogin:
    username: str
    password: str
    token: str  # legacy API token, 40 hex characters; applied when the user is first created

    @classmethod
    def generate(cls, username: str = "admin@example.com") -> StudioLogin:
        return cls(username, secrets.token_urlsafe(12), secrets.token_hex(20))


def load_or_create_login(path: Path) -> StudioLogin:
    """The login kept in ``path`` (created with mode 0600 on first use), so re-runs reuse the same account."""
    if path.exists():
        try:
            return StudioLogin(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise StudioError(f"unreadable login file ({exc})", where=str(path),
                              hint="delete it together with Label Studio's data folder to start afresh") from exc
    login = StudioLogin.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(login), out)
    return login


def studio_env(data_dir: Path, login: StudioLogin) -> dict[str, str]:
    """The whole environment Label Studio gets: nothing inherited but PATH, HOME and the locale."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if key in os.environ}
    env.update({
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_USERNAME": login.username,
        "LABEL_STUDIO_PASSWORD": login.password,
        "LABEL_STUDIO_USER_TOKEN": login.token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
        "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false",
        # Without these, connecting an ML backend on 127.0.0.1 is refused with 403.
        "ML_BLOCK_LOCAL_IP": "false", "SSRF_PROTECTION_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
        # Label Studio 1.23 recounts every task of a project after each bulk import of predictions unless this
        # flag is on; with it only the imported tasks are (inference.bulk: 0.2 s instead of 1.2 s a request of 256
        # at 20,000 tasks, and the gap grows with the project).
        "fflag_fix_back_4620_memory_efficient_predictions_import_08012025_short": "true",
    })
    return env


def studio_command() -> list[str]:
    """The ``label-studio`` executable next to this Python, or a clear error if the extra is missing."""
    candidate = Path(sys.executable).with_name("label-studio")
    found = str(candidate) if candidate.exists() else shutil.which("label-studio")
    if not found:
        raise StudioError("the label-studio command is not installed",
                          hint="pip install 'nerloop[studio]' (or point NERLOOP_STUDIO_URL at a running server)")
    return [found]


def start_studio(data_dir: Path, login: StudioLogin, *, host: str = "127.0.0.1", port: int = 8080,
                 log: Path, timeout: float = 240.0) -> Service:
    """Start Label Studio on ``host:port`` with its data in ``data_dir``; returns once ``/health`` is UP."""
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [*studio_command(), "start", "--no-browser", "--internal-host", host, "--port", str(port)]
    return start_service("Label Studio", argv, env=studio_env(data_dir, login), host=host, port=port, log=log,
                         timeout=timeout, cwd=data_dir)
