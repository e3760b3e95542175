"""The gate in front of a classifier's forward passes: at most ``limit`` at once, let in first come, first served
(one request's next batch waits behind the batches others are already waiting with), the limit changeable."""

from __future__ import annotations

import threading
import time

from inference.classifier import _Slots


def wait_until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_waiting_passes_are_let_in_in_the_order_they_came() -> None:
    slots = _Slots(1)
    order: list[str] = []
    slots.__enter__()  # a pass is running
    threads = []
    for queued, name in enumerate("abc", start=1):
        thread = threading.Thread(target=lambda n=name: (slots.__enter__(), order.append(n), slots.__exit__()))
        thread.start()
        wait_until(lambda k=queued: len(slots._waiting) == k)  # queued in this order
        threads.append(thread)
    slots.__exit__()
    slots.__enter__()  # the running request's next batch: behind a, b and c
    order.append("next")
    slots.__exit__()
    for thread in threads:
        thread.join(5)
    assert order == ["a", "b", "c", "next"]


def test_raising_the_limit_lets_waiting_passes_in_and_lowering_it_holds_new_ones() -> None:
    slots = _Slots(1)
    slots.__enter__()
    entered, release = threading.Event(), threading.Event()

    def second_pass() -> None:
        with slots:
            entered.set()
            release.wait(5)

    holder = threading.Thread(target=second_pass)
    holder.start()
    wait_until(lambda: len(slots._waiting) == 1)
    assert not entered.is_set()
    slots.limit = 2
    assert entered.wait(5)  # two passes now run at once
    slots.limit = 1
    slots.__exit__()  # one pass still runs: at the limit of 1 a new one waits
    late = threading.Event()
    waiter = threading.Thread(target=lambda: (slots.__enter__(), late.set(), slots.__exit__()))
    waiter.start()
    wait_until(lambda: len(slots._waiting) == 1)
    assert not late.is_set()
    release.set()
    assert late.wait(5)
    holder.join(5)
    waiter.join(5)
