"""The counters of one run: steps, wall time and elements, checked before the work they guard."""

from __future__ import annotations

import time

from gradviz.errors import LimitExceeded
from gradviz.limits import Limits

# Large results cost one step per this many elements, so a loop of big allocations is
# bounded by max_steps as well as by the limits on each single result.
ELEMENTS_PER_STEP = 16


class Budget:
    """What the program has used so far of its Limits."""

    __slots__ = ("deadline", "limits", "max_steps", "steps", "total_elements")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.max_steps = limits.max_steps
        self.steps = 0
        self.total_elements = 0
        self.deadline = time.monotonic() + limits.max_seconds

    def restart(self) -> None:
        """Start a fresh allowance (a callback run by torch after the program ended)."""
        self.steps = 0
        self.deadline = time.monotonic() + self.limits.max_seconds

    def tick(self) -> None:
        """One interpreter step; also the place where wall time is checked."""
        self.steps += 1
        if self.steps > self.max_steps or time.monotonic() > self.deadline:
            self.exhausted()

    def charge(self, n: int) -> None:
        """Charge ``n`` steps at once, refusing before doing work that would go past the limit."""
        if n > 0:
            if self.steps + n > self.max_steps:
                raise LimitExceeded(
                    f"the program would run past {self.max_steps} steps "
                    f"(limit max_steps): it asks for {n} more at once"
                )
            self.steps += n
        if time.monotonic() > self.deadline:
            self.exhausted()

    def charge_size(self, n: int) -> None:
        """Charge for a large result of ``n`` elements or characters."""
        if n >= ELEMENTS_PER_STEP:
            self.charge(n // ELEMENTS_PER_STEP)

    def exhausted(self) -> None:
        if self.steps > self.max_steps:
            raise LimitExceeded(f"the program ran past {self.max_steps} steps (limit max_steps)")
        raise LimitExceeded(
            f"the program ran longer than {self.limits.max_seconds:g} seconds (limit max_seconds)"
        )

    def check_length(self, n: int, what: str = "sequence", charge: bool = True) -> None:
        """Refuse a str/list/tuple/dict longer than max_sequence_length, before building it."""
        limit = self.limits.max_sequence_length
        if n > limit:
            raise LimitExceeded(
                f"a {what} of length {n} would be longer than {limit} (limit max_sequence_length)"
            )
        if charge:
            self.charge_size(n)

    def check_int_bits(self, bits: int) -> None:
        """Refuse an int result of about ``bits`` bits, before computing it."""
        limit = self.limits.max_int_bits
        if bits > limit:
            raise LimitExceeded(
                f"the result would be an integer of about {bits} bits, more than {limit} "
                "(limit max_int_bits)"
            )

    def add_elements(self, n: int) -> None:
        """Count elements of a new tensor towards max_total_elements."""
        total = self.total_elements + n
        limit = self.limits.max_total_elements
        if total > limit:
            raise LimitExceeded(
                f"the program would create more than {limit} tensor elements in total "
                "(limit max_total_elements)"
            )
        self.total_elements = total
