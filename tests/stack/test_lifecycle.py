"""The local stack's record and lifecycle without real services: the record's file, the port check before anything
starts, and stopping what a record names."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys

import pytest

from core.errors import StudioError
from stack.lifecycle import LocalStack, stop_stack
from stack.record import StackInfo, login_path, read_state, save_state, state_path
from stack.services import free_port


def test_the_record_is_private_and_read_back(tmp_path):
    assert read_state(tmp_path) is None
    info = StackInfo("http://127.0.0.1:8080", "a@b.c", "pw", 123, project_id=1)
    assert save_state(tmp_path, info) == info
    assert stat.S_IMODE(state_path(tmp_path).stat().st_mode) == 0o600
    assert read_state(tmp_path) == info


def test_a_busy_port_is_named_before_anything_starts(tmp_path):
    studio_port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        backend_port = busy.getsockname()[1]
        with pytest.raises(StudioError) as err:
            LocalStack.open(tmp_path, host="127.0.0.1", studio_port=studio_port, backend_port=backend_port)
    assert str(err.value) == (f"port {backend_port} on 127.0.0.1 is busy, so ML backend cannot start there (stop what "
                              f"uses port {backend_port} (or `nerloop down`), or choose another port)")
    assert login_path(tmp_path).exists() and read_state(tmp_path) is None  # no service was started or recorded


def test_stop_says_what_ran_and_forgets_the_record(tmp_path):
    said: list[str] = []
    assert stop_stack(tmp_path, said.append) is False and said == []
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    save_state(tmp_path, StackInfo("http://127.0.0.1:1", "a@b.c", "pw", gone.pid))
    assert stop_stack(tmp_path, said.append) is True
    assert said == [f"Label Studio (pid {gone.pid}): was not running"]
    assert read_state(tmp_path) is None
