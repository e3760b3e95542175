"""Starting and stopping the local services (Label Studio, the ML backend) as background processes.

Each service is a process group of its own (``start_new_session``), so ``stop_process`` ends it and its children.
A busy port is an error that names the port; nothing silently moves to another one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from core.errors import StudioError


@dataclass(frozen=True)
class Service:
    name: str
    pid: int
    port: int
    url: str
    log: Path


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def require_free_port(name: str, host: str, port: int) -> None:
    """A StudioError naming the port when it is busy: nothing ever moves silently to another port."""
    if not port_is_free(host, port):
        raise StudioError(f"port {port} on {host} is busy, so {name} cannot start there",
                          hint=f"stop what uses port {port} (or `nerloop down`), or choose another port")


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free now (for tests and throwaway services)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_service(name: str, argv: list[str], *, env: dict[str, str], host: str, port: int, log: Path,
                  health_path: str = "/health", timeout: float = 180.0, cwd: Path | None = None) -> Service:
    """Start ``argv`` in the background, wait until ``GET health_path`` answers 200, return the service."""
    require_free_port(name, host, port)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=cwd)
    url = f"http://{host}:{port}"
    try:
        wait_healthy(url + health_path, timeout=timeout, proc=proc, name=name, log=log)
    except BaseException:
        stop_process(proc.pid)
        raise
    return Service(name, proc.pid, port, url, log)


def wait_healthy(url: str, *, timeout: float, proc: subprocess.Popen | None = None, name: str = "service",
                 log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StudioError(f"{name} exited with code {proc.returncode} before it was ready",
                              where=str(log) if log else None, hint="read the log named here")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise StudioError(f"{name} did not answer {url} within {timeout:.0f} s", where=str(log) if log else None,
                      hint="read the log; a first Label Studio start migrates its database (about 30 s)")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process(pid: int, *, timeout: float = 15.0) -> bool:
    """Terminate the process group of ``pid`` (SIGTERM, then SIGKILL); True if something was running."""
    if not process_alive(pid):
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if not process_alive(pid):
                return True
            time.sleep(0.2)
    return True
