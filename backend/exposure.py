"""Whether the backend may listen where it is asked to: a bind address beyond loopback needs basic auth.

Loopback addresses (``127.0.0.0/8``, ``::1``, ``localhost``) are reachable only from this machine and need nothing.
Any other address (``0.0.0.0``, ``::``, a LAN address, a host name) exposes ``/predict``, ``/setup`` and ``/webhook``
(which starts training rounds) to whoever can reach the port, so the backend refuses to start there without
``NERLOOP_BASIC_AUTH_USER``/``_PASSWORD``, unless ``NERLOOP_ALLOW_UNAUTHENTICATED=true`` (``nerloop serve
--allow-unauthenticated``) says that an open backend is intended (e.g. behind an authenticating proxy).
"""

from __future__ import annotations

import ipaddress

from backend.settings import BackendSettings
from core.errors import NerloopError


def is_loopback(host: str) -> bool:
    """``host`` is a loopback address or ``localhost`` (brackets around an IPv6 address are allowed)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, settings: BackendSettings) -> None:
    """Raise when the backend would listen on ``host`` beyond loopback with no basic auth and no explicit consent."""
    if is_loopback(host) or settings.basic_auth_user or settings.allow_unauthenticated:
        return
    raise NerloopError(
        f"bind address {host!r} is reachable beyond this machine and basic auth is off (NERLOOP_BASIC_AUTH_USER "
        "is unset), so anyone who reaches the port could start training rounds",
        where="nerloop serve --host",
        hint="set NERLOOP_BASIC_AUTH_USER and NERLOOP_BASIC_AUTH_PASSWORD (and the same in Label Studio's model "
             "connection), bind to 127.0.0.1, or set NERLOOP_ALLOW_UNAUTHENTICATED=true "
             "(--allow-unauthenticated) if an open backend is intended")
