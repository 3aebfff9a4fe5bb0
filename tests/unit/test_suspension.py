"""Suspension of failing nodes: threshold, doubling back-off, resumption."""

from broker.config import SuspensionPolicy
from broker.suspension import Suspension


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_suspends_after_threshold_and_doubles_up_to_max() -> None:
    clock = Clock()
    suspension = Suspension(
        SuspensionPolicy(after_failures=2, initial_seconds=1, max_seconds=3), clock
    )
    suspension.record_failure("down")
    assert suspension.allows_call()
    suspension.record_failure("down")
    assert not suspension.allows_call()
    assert suspension.state().remaining_seconds == 1
    backoffs = []
    for _ in range(3):
        clock.now += suspension.state().remaining_seconds
        assert suspension.allows_call()
        suspension.record_failure("still down")
        backoffs.append(suspension.state().remaining_seconds)
    assert backoffs == [2, 3, 3]
    assert suspension.state().last_failure == "still down"


def test_one_success_resumes_and_resets_back_off() -> None:
    clock = Clock()
    suspension = Suspension(SuspensionPolicy(1, 1, 60), clock)
    suspension.record_failure("x")
    clock.now += 1
    suspension.record_failure("x")
    clock.now += 2
    suspension.record_success()
    assert suspension.allows_call()
    assert suspension.state().consecutive_failures == 0
    suspension.record_failure("x")
    assert suspension.state().remaining_seconds == 1
