"""Concurrency for talking to platforms: accounts through a bounded pool, results in input
order, and each platform's own limits (how many calls at once, how many per second).

Against a real network the platform's latency, not our CPU, is the cost, so accounts are
read and applied several at a time; but whatever the parallelism, every result comes back
in the order its input came in, so the output of a run does not depend on it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import TypeVar

from reconciler.model import ActualAccount
from reconciler.plan import Step
from reconciler.progress import Progress, StepResult
from reconciler.provider import Provider, StepOutcome
from reconciler.retry import Clock, Sleep

T = TypeVar("T")
R = TypeVar("R")

#: accounts in flight at once by default (``--parallelism``)
DEFAULT_PARALLELISM = 8


def ordered_map(
    fn: Callable[[T], R], items: Iterable[T], parallelism: int, *, window: int | None = None
) -> Iterator[R]:
    """``fn(item)`` for each item, at most ``parallelism`` at once, yielded in input order.

    Workers run ahead of the item being waited for: a slow item holds back the *output*,
    not the other workers, which go on with the next items until ``window`` items
    (default twice ``parallelism``) are started or finished but not yet yielded. So
    ``items`` is consumed lazily (at most ``window`` ahead of the one yielded) and at
    most ``window`` results are held: a stream of accounts is never held whole.

    The first exception, in input order, is raised where its result would have been;
    nothing after a failed item is started once its failure is known, and items not
    started by the time it is raised are not started. With ``parallelism`` 1 everything
    runs in the caller's thread, one at a time.
    """
    if parallelism <= 1:
        for item in items:
            yield fn(item)
        return
    window = max(window or 2 * parallelism, parallelism)
    pending: deque[tuple[int, Future[R]]] = deque()
    guard = threading.Lock()
    failed = threading.Event()

    def on_done(index: int, future: Future[R]) -> None:
        if future.cancelled() or future.exception() is None:
            return
        failed.set()
        with guard:  # queued items after the failed one will never be yielded
            later = [f for i, f in pending if i > index]
        for f in later:
            f.cancel()

    pool = ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="reconciler")
    try:
        source = enumerate(items)
        exhausted = False
        while True:
            while not exhausted and not failed.is_set() and len(pending) < window:
                step = next(source, None)
                if step is None:
                    exhausted = True
                    break
                index, item = step
                future = pool.submit(fn, item)
                with guard:
                    pending.append((index, future))
                future.add_done_callback(partial(on_done, index))
            if not pending:
                return
            with guard:
                _, head = pending.popleft()
            yield head.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class RateLimiter:
    """At most ``rate`` calls per second: each call gets the next free slot, one
    ``1/rate`` seconds after the previous one, and sleeps until it (no bursts)."""

    def __init__(self, rate: float, *, clock: Clock | None = None, sleep: Sleep | None = None):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.clock = clock or time.monotonic
        self.sleep = sleep or time.sleep
        self._lock = threading.Lock()
        self._next: float | None = None

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            slot = now if self._next is None else max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self.sleep(slot - now)


class LimitedProvider(Provider):
    """A platform's provider behind its limits from reconciler.yaml: ``max_concurrency``
    calls in flight at once, ``rate_limit`` calls per second (each retry is a call)."""

    def __init__(
        self,
        inner: Provider,
        *,
        max_concurrency: int | None = None,
        rate_limit: float | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.inner = inner
        self.platform = inner.platform
        self._slots = threading.BoundedSemaphore(max_concurrency) if max_concurrency else None
        self._rate = RateLimiter(rate_limit, clock=clock, sleep=sleep) if rate_limit else None

    @property
    def label(self) -> str:
        return self.inner.label

    @contextmanager
    def _call(self) -> Iterator[None]:
        if self._slots is not None:
            self._slots.acquire()
        try:
            # the rate is waited for holding a slot: a call waiting its turn is in flight
            if self._rate is not None:
                self._rate.wait()
            yield
        finally:
            if self._slots is not None:
                self._slots.release()

    def read_account(self, external_id: str) -> ActualAccount:
        with self._call():
            return self.inner.read_account(external_id)

    def perform(self, external_id: str, step: Step, idempotency_key: str) -> StepOutcome:
        with self._call():
            return self.inner.perform(external_id, step, idempotency_key)

    def list_accounts(self) -> list[str]:
        with self._call():
            return self.inner.list_accounts()

    def close(self) -> None:
        self.inner.close()


class OrderedProgress:
    """The progress of accounts applied at once, told as if they ran one after another in
    plan order: the first unfinished account reports live, the others are held and played
    back when their turn comes, so the output is the same whatever the parallelism."""

    def __init__(self, inner: Progress, accounts: Sequence[str]) -> None:
        self.inner = inner
        self._order = list(accounts)
        self._head = 0
        self._held: dict[str, list[Callable[[], None]]] = {a: [] for a in self._order}
        self._finished: set[str] = set()
        self._lock = threading.Lock()

    def _event(self, account: str, event: Callable[[], None]) -> None:
        with self._lock:
            if self._head < len(self._order) and self._order[self._head] == account:
                event()
            else:
                self._held.setdefault(account, []).append(event)

    def start_account(self, account: str, steps: Sequence[Step]) -> None:
        self._event(account, lambda: self.inner.start_account(account, steps))

    def step(self, account: str, result: StepResult) -> None:
        self._event(account, lambda: self.inner.step(account, result))

    def waiting(self, account: str, order_id: str, waited: float, limit: float) -> None:
        self._event(account, lambda: self.inner.waiting(account, order_id, waited, limit))

    def end_account(self, account: str) -> None:
        self._event(account, lambda: self.inner.end_account(account))

    def finish(self, account: str) -> None:
        """``account`` is done: play back the accounts after it that are waiting."""
        with self._lock:
            self._finished.add(account)
            while self._head < len(self._order) and self._order[self._head] in self._finished:
                self._head += 1
                if self._head < len(self._order):
                    for event in self._held.pop(self._order[self._head], []):
                        event()
