"""Work sent to a Ray cluster: connect, run one piece of a round (or of an audit) as a Ray task, bring its result
back, and turn every way that can fail into one ``ClusterError`` that names the cluster and what happened.

A task here is a generator function of nerloop's (so the cluster's nodes need the same nerloop installed, with the
``ray`` extra). It yields ``("event", value)`` while it works (training progress) and ends with one
``("result", value)``; ``run_task`` passes the events on and returns the result. Nothing is shared with the
cluster but what travels through Ray: the task's arguments and its result.

Ray itself stays optional: it is imported only here, when the ``ray`` executor is used.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from core.errors import ClusterError, NerloopError
from store.settings import RaySettings

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'nerloop[ray]' (Ray 2.60) here and on the cluster's nodes, or set NERLOOP_EXECUTOR=local"
_connecting = threading.Lock()
AFTER_FAILURE = "nothing was promoted and the served round is unchanged; see the cluster's logs, then run it again"


def import_ray() -> Any:
    """The ``ray`` module, or a ClusterError that says what to install."""
    try:
        import ray
    except ImportError as exc:
        raise ClusterError("NERLOOP_EXECUTOR=ray needs Ray, which is not installed", where="NERLOOP_EXECUTOR",
                           hint=INSTALL_HINT) from exc
    return ray


def _host_port(address: str) -> tuple[str, int]:
    parts = urlsplit(address if "://" in address else f"gcs://{address}")
    if not parts.hostname or not parts.port:
        raise ClusterError(f"the Ray address {address!r} has no host:port", where="NERLOOP_RAY__ADDRESS",
                           hint="set it to the head node's GCS address (head:6379) or ray://head:10001")
    return parts.hostname, parts.port


def connect(settings: RaySettings) -> Any:
    """Connect this process to the cluster at ``settings.address`` once (later calls reuse the connection);
    returns the ``ray`` module. An address that does not answer within ``connect_timeout`` is a ClusterError."""
    if not settings.address:
        raise ClusterError("the ray executor needs the cluster's address, and none is set",
                           where="NERLOOP_RAY__ADDRESS", hint="set it to the head node's GCS address (head:6379) "
                                                              "or ray://head:10001")
    ray = import_ray()
    with _connecting:  # the folds of an audit connect from threads of their own
        if not ray.is_initialized():
            _connect(ray, settings)
    return ray


def _connect(ray: Any, settings: RaySettings) -> None:
    assert settings.address
    host, port = _host_port(settings.address)
    if not sys.stderr.isatty():
        os.environ.setdefault("RAY_COLOR_PREFIX", "0")  # the nodes' log lines reach round logs without ANSI colours
    try:
        socket.create_connection((host, port), timeout=settings.connect_timeout).close()
    except OSError as exc:
        raise ClusterError(f"cannot reach the Ray cluster at {settings.address} ({exc})",
                           where="NERLOOP_RAY__ADDRESS", hint="start the cluster or fix the address; "
                                                              + AFTER_FAILURE) from exc
    try:
        ray.init(address=settings.address, namespace="nerloop", logging_level=logging.WARNING, log_to_driver=True)
    except Exception as exc:  # Ray raises ConnectionError, AuthenticationError, RuntimeError, ...
        hint = ("set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) to the cluster's token"
                if "uthenticat" in str(exc) else "check that this machine runs the cluster's Ray version")
        raise ClusterError(f"cannot connect to the Ray cluster at {settings.address}: {_first_line(exc)}",
                           where="NERLOOP_RAY__ADDRESS", hint=hint) from exc
    log.info("connected to the Ray cluster at %s", settings.address)


def resources(settings: RaySettings) -> dict[str, Any]:
    """What one task asks the cluster for (Ray's ``.options``)."""
    asked: dict[str, Any] = {"num_cpus": settings.num_cpus, "num_gpus": settings.num_gpus}
    if settings.memory_gb:
        asked["memory"] = int(settings.memory_gb * 2**30)
    return asked


def run_task(function: Callable[..., Iterator[tuple[str, Any]]], argument: Any, *, settings: RaySettings,
             what: str, name: str, on_event: Callable[[Any], None] | None = None) -> Any:
    """Run ``function(argument)`` as one Ray task on the cluster and return what it yields as its result.

    The task is never retried (a round that failed must show as failed). It may take ``settings.timeout`` seconds,
    waiting for resources included; then it is cancelled. ``what`` names it in errors ("the round's training"),
    ``name`` on Ray's dashboard ("nerloop-round-project-3")."""
    ray = connect(settings)
    task = ray.remote(function).options(**resources(settings), max_retries=0, num_returns="streaming",
                                        name=name)
    address = settings.address
    deadline = time.monotonic() + settings.timeout
    stream = task.remote(argument)
    log.info("%s was sent to the Ray cluster at %s (%s)", what, address,
             ", ".join(f"{k} {v}" for k, v in resources(settings).items()))
    while True:
        ready, _ = ray.wait([stream], timeout=max(0.0, deadline - time.monotonic()))
        if not ready:
            ray.cancel(stream, force=True)
            raise ClusterError(f"{what} on the Ray cluster at {address} took longer than {settings.timeout:g} s "
                               "and was cancelled", where="NERLOOP_RAY__TIMEOUT",
                               hint="raise the limit, or ask for more (NERLOOP_RAY__NUM_CPUS, NERLOOP_RAY__NUM_GPUS); "
                                    + AFTER_FAILURE)
        try:
            kind, value = ray.get(next(stream))
        except StopIteration:
            raise ClusterError(f"{what} on the Ray cluster at {address} ended without a result",
                               hint=AFTER_FAILURE) from None
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, NerloopError):  # e.g. a base model the node cannot load: its own message
                raise ClusterError(f"{what} failed on the Ray cluster at {address}: {cause}",
                                   hint=AFTER_FAILURE) from exc
            raise ClusterError(f"{what} failed on the Ray cluster at {address}: {_first_line(cause or exc)}",
                               hint="is the same nerloop installed on the cluster's nodes (nerloop[ray])? "
                                    + AFTER_FAILURE) from exc
        except ray.exceptions.RayError as exc:  # the worker died, the node went away, the task was cancelled
            raise ClusterError(f"{what} on the Ray cluster at {address} failed: {type(exc).__name__}: "
                               f"{_first_line(exc)}", hint=AFTER_FAILURE) from exc
        if kind == "result":
            return value
        if on_event is not None:
            on_event(value)


def where_it_ran() -> dict[str, Any]:
    """Inside a task: the node it runs on (Ray's node id and IP, the host name)."""
    import ray

    context = ray.get_runtime_context()
    return {"node_id": context.get_node_id(), "node_ip": ray.util.get_node_ip_address(),
            "host": socket.gethostname()}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
