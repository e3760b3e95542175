"""nerloop predict's sharing of the cores with a Label Studio on the same machine, and its chunk sizes."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from backend.bulk import read_ahead, store_chunk
from nerloop.suggestions import CoreShare, is_local


@pytest.mark.parametrize(("url", "local"), [
    ("http://127.0.0.1:8080", True), ("http://localhost:8080/", True), ("http://[::1]:8080", True),
    ("http://127.0.0.2:8080", True), ("https://studio.example.com", False), ("http://10.0.0.7:8080", False),
])
def test_a_studio_is_local_when_its_host_is_this_machine(url: str, local: bool) -> None:
    assert is_local(url) is local


def test_torch_lends_label_studio_one_core_while_requests_are_in_flight() -> None:
    share = CoreShare(threads=4)
    runner = SimpleNamespace(threads=4)
    with share():  # before the round is loaded there is no runner: nothing to change, nothing breaks
        share.runner = runner
    assert runner.threads == 4
    with share():
        assert runner.threads == 3
        with share():  # a page read while a chunk is stored: still one core lent, not two
            assert runner.threads == 3
        assert runner.threads == 3
    assert runner.threads == 4
    one = CoreShare(threads=1)
    one.runner = runner
    with one():
        assert runner.threads == 1  # never below one thread


def test_an_onnx_runner_keeps_its_threads() -> None:
    share = CoreShare(threads=2)
    share.runner = SimpleNamespace()  # no mutable thread count
    with share():
        assert not hasattr(share.runner, "threads")


def test_import_requests_grow_with_the_project_within_bounds() -> None:
    assert [store_chunk(n) for n in (0, 400, 20_000, 100_000, 1_000_000)] == [256, 256, 1250, 4096, 4096]
    assert store_chunk(None) == 1024


def test_reading_ahead_keeps_order_and_raises_the_readers_error() -> None:
    assert list(read_ahead(iter(range(2500)), 100)) == list(range(2500))

    def failing():
        yield 1
        raise RuntimeError("page 2 refused")

    seen = []
    with pytest.raises(RuntimeError, match="page 2 refused"):
        for item in read_ahead(failing(), 10):
            seen.append(item)
    assert seen == [1]


def test_leaving_a_read_ahead_early_stops_its_reader() -> None:
    started = threading.active_count()
    items = read_ahead(iter(range(10_000)), 5)
    assert next(items) == 0
    items.close()
    for thread in threading.enumerate():
        if thread.name == "read-tasks":
            thread.join(5)
    assert threading.active_count() <= started
