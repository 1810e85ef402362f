"""Faults on demand, e.g.
``RECONCILER_SANDBOX_FAULTS=transient=0.2,lost_response=0.1,crash_after=5,seed=7``.

* ``transient=P``: a read or write fails with :class:`TransientError` before doing anything.
* ``lost_response=P``: a write commits, then the caller gets ``TransientError("timeout:
  response lost")``.
* ``crash_after=N``: the process exits hard (``os._exit(75)``) right after its Nth
  committed write.
* ``seed=S``: the random draws are deterministic for a given seed (default 0).

Network faults, for ``reconciler sandbox serve`` only (reconciler/sandbox/serve.py):

* ``latency=MS``: every request is answered MS milliseconds late.
* ``http429=P`` / ``http503=P``: a request is refused with 429 / 503 and ``Retry-After``
  before doing anything.
* ``drop_after_commit=P``: a write commits, then the connection is cut before the answer.
* ``slow=P``: an answer is held back for ``SLOW_SECONDS`` (a client's timeout fires).

A draw is made only for a fault that is switched on, so the sequence of outcomes for one
spec is the same on every run.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from reconciler.envvars import env_value
from reconciler.errors import ReconcilerError, TransientError

FAULTS_ENV = "RECONCILER_SANDBOX_FAULTS"
#: exit status of a crash_after crash (EX_TEMPFAIL: "try again later")
CRASH_STATUS = 75
_KEYS = ("transient", "lost_response", "crash_after", "seed", "latency", "http429", "http503",
         "drop_after_commit", "slow")
#: how long a ``slow`` answer is held back (assumed: longer than any sensible timeout)
SLOW_SECONDS = 5.0


@dataclass(frozen=True)
class FaultSpec:
    transient: float = 0.0
    lost_response: float = 0.0
    crash_after: int | None = None
    seed: int = 0
    #: network faults of the served sandbox (milliseconds; probabilities)
    latency: int = 0
    http429: float = 0.0
    http503: float = 0.0
    drop_after_commit: float = 0.0
    slow: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.transient or self.lost_response or self.crash_after is not None)


def parse_faults(text: str | None) -> FaultSpec:
    """The spec from the environment variable's value; a bad value is one-line error."""
    if not text or not text.strip():
        return FaultSpec()
    values: dict[str, str] = {}
    # a message names the variable and a part by its position, never quotes the value:
    # whatever the variable holds is not printed (reconciler.envvars)
    for n, part in enumerate(text.split(","), start=1):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise _bad(text, f"part {n} is not KEY=VALUE")
        if key not in _KEYS:
            raise _bad(text, f"part {n} is not a known fault (known: {', '.join(_KEYS)})")
        if key in values:
            raise _bad(text, f'"{key}" given twice')
        values[key] = value
    return FaultSpec(
        transient=_probability(text, values, "transient"),
        lost_response=_probability(text, values, "lost_response"),
        crash_after=_count(text, values, "crash_after", minimum=1),
        seed=_count(text, values, "seed", minimum=0) or 0,
        latency=_count(text, values, "latency", minimum=0) or 0,
        http429=_probability(text, values, "http429"),
        http503=_probability(text, values, "http503"),
        drop_after_commit=_probability(text, values, "drop_after_commit"),
        slow=_probability(text, values, "slow"),
    )


def _probability(text: str, values: Mapping[str, str], key: str) -> float:
    if key not in values:
        return 0.0
    try:
        p = Decimal(values[key])
    except InvalidOperation:
        raise _bad(text, f"{key} must be a probability between 0 and 1") from None
    if not (0 <= p <= 1):
        raise _bad(text, f"{key} must be a probability between 0 and 1")
    return float(p)  # a probability, not money: float is right here


def _count(text: str, values: Mapping[str, str], key: str, *, minimum: int) -> int | None:
    if key not in values:
        return None
    raw = values[key]
    if not raw.isdigit() or int(raw) < minimum:
        raise _bad(text, f"{key} must be a whole number of at least {minimum}")
    return int(raw)


def _bad(text: str, why: str) -> ReconcilerError:
    del text  # never shown: the variable's value may be anything
    return ReconcilerError(f"{FAULTS_ENV}: {why}")


@dataclass
class _ProcessWrites:
    """Committed writes of *this process*: crash_after counts per process by definition,
    whichever sandbox object made the write, so the count lives here, keyed by pid (a
    forked child starts from zero)."""

    pid: int = 0
    count: int = 0

    def bump(self) -> int:
        if self.pid != os.getpid():
            self.pid, self.count = os.getpid(), 0
        self.count += 1
        return self.count


_WRITES = _ProcessWrites()


@dataclass
class FaultInjector:
    spec: FaultSpec
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.spec.seed)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FaultInjector:
        spec = env_value(FAULTS_ENV, environ)
        return cls(parse_faults(spec.reveal() if spec is not None else None))

    def before(self, what: str) -> None:
        """Called before a read or a write does anything."""
        if self.spec.transient and self.rng.random() < self.spec.transient:
            raise TransientError(f"transient: platform busy (HTTP 503) during {what}")

    def after_commit(self) -> None:
        """Called right after a write committed (and before its answer is returned)."""
        n = _WRITES.bump()
        if self.spec.crash_after is not None and n >= self.spec.crash_after:
            os._exit(CRASH_STATUS)  # a hard crash: no cleanup, no finally blocks
        if self.spec.lost_response and self.rng.random() < self.spec.lost_response:
            raise TransientError("timeout: response lost")
