"""A real Ray cluster for tests and benchmarks, kept on loopback.

Ray binds the machine's network address unless it runs where loopback is the only interface, so the caller first
enters a network namespace of its own (``loopback_only``: everything it starts afterwards, Label Studio, the
backend, the rounds and the cluster, shares it). The cluster's processes also get a mount namespace in which the
folders named in ``hidden`` are empty: a round's task that tried to read the backend's registry would find nothing.
Needs root (CAP_SYS_ADMIN), as CI has.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

CLONE_NEWNET, CLONE_NEWNS = 0x40000000, 0x00020000
MS_REC, MS_PRIVATE = 0x4000, 0x40000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def can_isolate() -> bool:
    return os.geteuid() == 0 and sys.platform == "linux"


@contextmanager
def loopback_only() -> Iterator[None]:
    """Move this thread (and what it starts) into a new network namespace with only ``lo``, up; back on exit."""
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            request = struct.pack("16sH", b"lo", 0)
            flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request + b"\0" * 14)[:18])[1]
            fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP) + b"\0" * 14)
        yield
    finally:
        _check(_libc.setns(original, CLONE_NEWNET), "setns back")
        os.close(original)


def _hide(folders: Sequence[Path]) -> None:
    """In the child, before exec: a private mount namespace where each folder is an empty tmpfs."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    for folder in folders:
        _check(_libc.mount(b"tmpfs", str(folder).encode(), b"tmpfs", 0, None), f"mount tmpfs on {folder}")


@dataclass(frozen=True)
class RayCluster:
    address: str
    process: subprocess.Popen
    env: dict[str, str]  # what a client needs: RAY_AUTH_MODE, RAY_AUTH_TOKEN
    temp_dir: Path

    def stop(self) -> None:
        """Kill every process of the cluster (they share the session ``ray start`` began)."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_cluster(*, num_cpus: int = 2, hidden: Sequence[Path] = (), log: Path, timeout: float = 90,
                  env: dict[str, str] | None = None) -> RayCluster:
    """``ray start --head --block`` on 127.0.0.1 with token auth; returns once it accepts drivers."""
    port = free_port()
    temp_dir = Path(tempfile.mkdtemp(prefix="/tmp/nlray-"))  # Ray's socket paths must stay short
    client_env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    full_env = {**(env or os.environ), **client_env, "RAY_USAGE_STATS_ENABLED": "0"}
    ray = Path(sys.executable).with_name("ray")
    argv = [str(ray), "start", "--head", "--block", "--port", str(port), "--node-ip-address", "127.0.0.1",
            "--num-cpus", str(num_cpus), "--num-gpus", "0", "--include-dashboard", "false",
            "--disable-usage-stats", "--temp-dir", str(temp_dir)]
    out = log.open("ab")
    start = out.tell()
    process = subprocess.Popen(argv, env=full_env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True, preexec_fn=(lambda: _hide(hidden)) if hidden else None)
    cluster = RayCluster(f"127.0.0.1:{port}", process, client_env, temp_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ray start exited with {process.returncode}; see {log}")
        if b"Ray runtime started" in log.read_bytes()[start:]:
            return cluster
        time.sleep(0.5)
    cluster.stop()
    raise RuntimeError(f"the Ray cluster did not start within {timeout} s; see {log}")
