from __future__ import annotations

import random

import pytest
from fakes.clock import Clock

from reconciler.errors import PlatformError, TransientError
from reconciler.retry import RetriesExhausted, RetryPolicy, backoff, call_with_retry


def flaky(failures: int, exc: Exception | None = None):  # type: ignore[no-untyped-def]
    calls = []

    def fn() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise exc or TransientError("503 Service Unavailable")
        return "ok"

    return fn, calls


def test_succeeds_after_transient_failures_sleeping_between() -> None:
    clock = Clock()
    fn, calls = flaky(3)
    assert call_with_retry(fn, sleep=clock.sleep, clock=clock, rng=random.Random(0)) == "ok"
    assert len(calls) == 4
    assert len(clock.slept) == 3


@pytest.mark.parametrize("retry", [1, 2, 3, 4, 5, 6, 7, 8])
def test_backoff_is_jittered_below_an_exponential_capped_ceiling(retry: int) -> None:
    policy = RetryPolicy(base=0.5, factor=2.0, cap=4.0)
    ceiling = min(4.0, 0.5 * 2 ** (retry - 1))
    draws = [backoff(policy, retry, random.Random(seed)) for seed in range(50)]
    assert all(0 <= d <= ceiling for d in draws)
    assert len(set(draws)) > 40  # jittered, not a fixed delay


def test_gives_up_after_the_attempts_with_the_last_error() -> None:
    clock = Clock()
    fn, calls = flaky(100)
    with pytest.raises(RetriesExhausted) as e:
        call_with_retry(fn, RetryPolicy(attempts=3), sleep=clock.sleep, clock=clock)
    assert len(calls) == 3
    assert len(clock.slept) == 2
    assert str(e.value).startswith("503 Service Unavailable (gave up after 3 attempts in ")
    assert isinstance(e.value, TransientError)


def test_gives_up_rather_than_wait_past_the_time_budget() -> None:
    clock = Clock()
    fn, calls = flaky(100)
    policy = RetryPolicy(attempts=1000, base=1.0, cap=1.0, total=5.0)
    with pytest.raises(RetriesExhausted):
        call_with_retry(fn, policy, sleep=clock.sleep, clock=clock, rng=random.Random(3))
    assert clock.now <= 5.0
    assert len(calls) < 1000


def test_time_spent_in_the_call_counts_against_the_budget() -> None:
    clock = Clock()

    def slow() -> str:
        clock.now += 10.0  # a timeout that took 10 s
        raise TransientError("timeout")

    with pytest.raises(RetriesExhausted) as e:
        call_with_retry(slow, RetryPolicy(total=15.0), sleep=clock.sleep, clock=clock)
    assert e.value.attempts == 2


def test_permanent_errors_are_not_retried() -> None:
    clock = Clock()
    fn, calls = flaky(1, PlatformError("no free licence"))
    with pytest.raises(PlatformError):
        call_with_retry(fn, sleep=clock.sleep, clock=clock)
    assert len(calls) == 1 and clock.slept == []


def test_on_retry_sees_each_retry_and_its_delay() -> None:
    clock = Clock()
    fn, _ = flaky(2)
    seen: list[tuple[int, str, float]] = []
    call_with_retry(
        fn,
        sleep=clock.sleep,
        clock=clock,
        on_retry=lambda n, e, d: seen.append((n, str(e), d)),
    )
    assert [(n, msg) for n, msg, _ in seen] == [
        (1, "503 Service Unavailable"),
        (2, "503 Service Unavailable"),
    ]
    assert [d for _, _, d in seen] == clock.slept
