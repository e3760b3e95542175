"""nerloop predict's use of the cores (one pass per core, one lent to a Label Studio on the same machine), its
reads ahead and its chunk sizes."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from inference.bulk import store_chunk
from nerloop.pre_annotation import CoreShare, is_local
from store.task_pages import read_ahead


@pytest.mark.parametrize(("url", "local"), [
    ("http://127.0.0.1:8080", True), ("http://localhost:8080/", True), ("http://[::1]:8080", True),
    ("http://127.0.0.2:8080", True), ("https://studio.example.com", False), ("http://10.0.0.7:8080", False),
])
def test_a_studio_is_local_when_its_host_is_this_machine(url: str, local: bool) -> None:
    assert is_local(url) is local


def cpu_classifier(threads: int = 4) -> SimpleNamespace:
    return SimpleNamespace(runner=SimpleNamespace(threads=threads, device="cpu"), parallel=1)


def test_a_bulk_job_runs_one_single_threaded_pass_per_core_and_lends_label_studio_one() -> None:
    share = CoreShare(cores=4, lend=True)
    with share():  # before the round is loaded there is no classifier: nothing to change, nothing breaks
        classifier = cpu_classifier()
        share.attach(classifier)
        assert classifier.parallel == 3
    assert (classifier.runner.threads, classifier.parallel) == (1, 4)
    with share():
        assert classifier.parallel == 3
        with share():  # a page read while a chunk is stored: still one core lent, not two
            assert classifier.parallel == 3
        assert classifier.parallel == 3
    assert classifier.parallel == 4
    one = CoreShare(cores=1, lend=True)
    one.attach(single := cpu_classifier(1))
    with one():
        assert single.parallel == 1  # never below one pass


def test_a_remote_studio_is_lent_nothing() -> None:
    share = CoreShare(cores=2, lend=False)
    share.attach(classifier := cpu_classifier(2))
    with share():
        assert (classifier.runner.threads, classifier.parallel) == (1, 2)


def test_onnx_and_cuda_runners_are_left_as_loaded() -> None:
    share = CoreShare(cores=2, lend=True)
    onnx = SimpleNamespace(runner=SimpleNamespace(), parallel=1)  # no mutable thread count
    share.attach(onnx)
    cuda = SimpleNamespace(runner=SimpleNamespace(threads=2, device="cuda"), parallel=1)
    share.attach(cuda)
    with share():
        assert onnx.parallel == cuda.parallel == 1 and cuda.runner.threads == 2
    assert share.classifier is None


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
