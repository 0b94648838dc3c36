"""The pool's places for running children: a bounded count with two queues.

A run a user is waiting to see (the graph after Run) goes before every run done on the side
(the curve's few dozen re-runs): on a busy server a student's graph would otherwise wait
behind other students' curves, which is most of the queue.
"""

from __future__ import annotations

import threading


class Slots:
    """At most ``size`` holders; a waiting foreground acquirer goes before any background one."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.free = size
        self.waiting_foreground = 0
        self._changed = threading.Condition()

    def enter_queue(self, background: bool) -> None:
        """Join the queue (call once, before ``acquire``)."""
        if not background:
            with self._changed:
                self.waiting_foreground += 1

    def leave_queue(self, background: bool) -> None:
        """Leave the queue (once, after the last ``acquire``, whether it succeeded or not)."""
        if not background:
            with self._changed:
                self.waiting_foreground -= 1
                self._changed.notify_all()  # a background waiter may now go

    def acquire(self, background: bool, timeout: float | None) -> bool:
        """Take a place, waiting at most ``timeout`` seconds; False if none came free."""

        def may_go() -> bool:
            return self.free > 0 and not (background and self.waiting_foreground)

        with self._changed:
            if not self._changed.wait_for(may_go, timeout):
                return False
            self.free -= 1
            return True

    def release(self) -> None:
        """Give a place back."""
        with self._changed:
            if self.free >= self.size:
                raise ValueError("Slots released more often than acquired")
            self.free += 1
            self._changed.notify_all()
