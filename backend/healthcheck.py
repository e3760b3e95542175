"""``python -m backend.healthcheck [URL]``: exit 0 when the backend answers ``/health`` (the container HEALTHCHECK).

Sends the backend's own basic-auth credentials when it requires them (``NERLOOP_BASIC_AUTH_USER``/``_PASSWORD``),
so a protected backend is not reported unhealthy.
"""

from __future__ import annotations

import sys

import httpx

from backend.settings import BackendSettings

DEFAULT_URL = "http://127.0.0.1:9090/health"


def check(url: str, settings: BackendSettings) -> bool:
    auth = None
    if settings.basic_auth_user and settings.basic_auth_password:
        auth = (settings.basic_auth_user, settings.basic_auth_password.get_secret_value())
    try:
        return httpx.get(url, auth=auth, timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


def main(argv: list[str]) -> int:
    return 0 if check(argv[0] if argv else DEFAULT_URL, BackendSettings()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
