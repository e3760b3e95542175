"""One writer of a project's stored predictions at a time, across processes; a killed holder frees the slot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from store.projects import suggestions_slot

HOLDER = """
import sys, time
from store.projects import suggestions_slot
with suggestions_slot(sys.argv[1], 3, "the backend's refresh with round-0002") as held:
    print("held" if held else "not held", flush=True)
    time.sleep(600)
"""


def test_a_second_writer_waits_for_the_first_and_a_killed_holder_frees_the_slot(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        said: list[str] = []
        stop = threading.Event()
        threading.Timer(0.5, stop.set).start()
        with suggestions_slot(tmp_path, "3", "nerloop predict", say=said.append, stop=stop, poll=0.05) as held:
            assert held is False
        assert said == [f"project 3: waiting for the backend's refresh with round-0002 (pid {holder.pid}) to finish "
                        "storing predictions (one writer at a time, so no task gets one twice)"]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    with suggestions_slot(tmp_path, 3, "nerloop predict", stop=threading.Event()) as held:
        assert held is True
        assert (tmp_path / "project-3" / ".suggestions.lock").read_text() == f"nerloop predict (pid {os.getpid()})\n"
