"""Suspending a node that keeps failing, with a back-off that doubles.

After `after_failures` failures in a row a node is suspended: the broker reports it
UNAVAILABLE without calling it. When the suspension ends, the next search tries it once:
a success resumes it at once, a failure suspends it again for twice as long (up to
`max_seconds`). This spares a dead node's country the cost of a call per search and
spares the node a storm of calls while it comes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from broker.config import SuspensionPolicy


@dataclass(frozen=True, slots=True)
class SuspensionState:
    """A snapshot for reports: whether suspended, for how long still, and why."""

    suspended: bool
    remaining_seconds: float
    consecutive_failures: int
    last_failure: str


class Suspension:
    """The suspension state of one node. Not thread-safe: one event loop owns it."""

    def __init__(
        self, policy: SuspensionPolicy, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._failures = 0
        self._until = 0.0
        self._next_backoff = policy.initial_seconds
        self._last_failure = ""

    def state(self) -> SuspensionState:
        """Where the node stands now."""
        remaining = max(0.0, self._until - self._clock())
        return SuspensionState(remaining > 0, remaining, self._failures, self._last_failure)

    def allows_call(self) -> bool:
        """False while suspended."""
        return self._clock() >= self._until

    def record_success(self) -> None:
        """The node answered: resume it and forget its failures."""
        self._failures = 0
        self._until = 0.0
        self._next_backoff = self._policy.initial_seconds
        self._last_failure = ""

    def record_failure(self, reason: str) -> None:
        """The node failed; suspend it once failures reach the policy's threshold."""
        self._failures += 1
        self._last_failure = reason
        if self._failures >= self._policy.after_failures:
            self._until = self._clock() + self._next_backoff
            self._next_backoff = min(self._next_backoff * 2, self._policy.max_seconds)
