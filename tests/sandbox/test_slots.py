"""The pool's places: the bound holds, and a foreground run goes before queued background ones."""

from __future__ import annotations

import threading
import time

import pytest

from gradviz.sandbox.slots import Slots


def _queue_up(slots: Slots, background: bool, order: list[str], name: str) -> threading.Thread:
    def take() -> None:
        slots.enter_queue(background)
        try:
            assert slots.acquire(background, timeout=10)
        finally:
            slots.leave_queue(background)
        order.append(name)
        slots.release()

    thread = threading.Thread(target=take)
    thread.start()
    return thread


def test_a_foreground_waiter_goes_before_background_waiters_that_came_first() -> None:
    slots = Slots(1)
    assert slots.acquire(False, timeout=0)
    order: list[str] = []
    threads = [_queue_up(slots, True, order, f"background {i}") for i in range(3)]
    time.sleep(0.1)  # the background runs are queued first
    threads.append(_queue_up(slots, False, order, "foreground"))
    time.sleep(0.1)
    slots.release()
    for thread in threads:
        thread.join(10)
    assert order[0] == "foreground"
    assert sorted(order[1:]) == ["background 0", "background 1", "background 2"]


def test_the_bound_holds_and_a_timeout_says_no() -> None:
    slots = Slots(2)
    assert slots.acquire(True, timeout=0) and slots.acquire(False, timeout=0)
    assert not slots.acquire(False, timeout=0.05)
    slots.release()
    assert slots.acquire(True, timeout=0)


def test_a_background_waiter_waits_only_while_a_foreground_one_is_queued() -> None:
    slots = Slots(1)
    slots.enter_queue(False)
    assert not slots.acquire(True, timeout=0.05)  # free place, but the foreground comes first
    slots.leave_queue(False)
    assert slots.acquire(True, timeout=0)


def test_releasing_more_than_acquired_is_an_error() -> None:
    with pytest.raises(ValueError):
        Slots(1).release()
