"""Retrying transient platform failures: exponential backoff with full jitter, bounded both
in attempts and in total seconds.

The clock and the sleep are injected so tests never really sleep; the random source is
injected so a test can pin the jitter.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from reconciler.errors import TransientError

T = TypeVar("T")
log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], float]


@dataclass(frozen=True)
class RetryPolicy:
    #: calls in all, the first included
    attempts: int = 6
    #: first backoff ceiling in seconds; doubles (``factor``) per retry up to ``cap``
    base: float = 0.25
    factor: float = 2.0
    cap: float = 8.0
    #: give up rather than start a wait that would end after this many seconds in all
    total: float = 30.0


class RetriesExhausted(TransientError):
    """A transient failure outlived the retry budget; a later run may succeed."""

    def __init__(self, last: TransientError, attempts: int, elapsed: float) -> None:
        self.last = last
        self.attempts = attempts
        self.elapsed = elapsed
        super().__init__(f"{last} (gave up after {attempts} attempts in {elapsed:.1f}s)")


def backoff(policy: RetryPolicy, retry: int, rng: random.Random) -> float:
    """Seconds to wait before retry number ``retry`` (1-based): "full jitter", a uniform
    draw below the exponential ceiling, so many clients retrying at once spread out."""
    ceiling = min(policy.cap, policy.base * policy.factor ** (retry - 1))
    return rng.uniform(0, ceiling)


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy | None = None,
    *,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    rng: random.Random | None = None,
    on_retry: Callable[[int, TransientError, float], None] | None = None,
) -> T:
    """``fn()``, retried on :class:`TransientError` only; anything else propagates at once.

    Raises :class:`RetriesExhausted` (a TransientError) when the attempts or the time budget
    run out. ``on_retry(retry_number, error, delay)`` is called before each wait.
    """
    policy = policy or RetryPolicy()
    rng = rng or random.Random()
    start = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except TransientError as e:
            elapsed = clock() - start
            if attempt >= policy.attempts:
                raise RetriesExhausted(e, attempt, elapsed) from e
            delay = backoff(policy, attempt, rng)
            if e.retry_after is not None:  # the platform's own Retry-After wins
                delay = max(delay, e.retry_after)
            if elapsed + delay > policy.total:
                raise RetriesExhausted(e, attempt, elapsed) from e
            log.info("transient failure (%s); retry %d in %.2fs", e, attempt, delay)
            if on_retry is not None:
                on_retry(attempt, e, delay)
            sleep(delay)
