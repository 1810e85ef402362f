"""The state store: a lease per platform account and a journal of every step apply
performed. One interface, two implementations: an embedded SQLite file (the default,
``.reconciler/state.db``) and a shared PostgreSQL database (``state: {url: ...}`` or
``RECONCILER_STATE_URL``) for many CI runners; see :mod:`reconciler.stores`.

The platform itself is the truth about what exists; this store only says who is applying
right now and what was applied when, by whom, from which commit.

Locks are *leases*: a row per account naming its holder (owner, host, pid, CI run URL,
commit) with the time it was acquired, the last heartbeat and when it expires. A holder
renews its leases from a heartbeat thread while apply runs; a lease that expired (its
holder died, or lost the network) may be reclaimed by anyone, and a lease of a dead process
on this very host is taken over at once. Every lease operation is one atomic statement
(insert if absent, compare-and-swap on the holder's token), so two runs can never both
believe they hold an account, and nothing depends on a database session surviving between
statements (safe behind a transaction pooler such as PgBouncer).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from reconciler.errors import LockHeld, ReconcilerError
from reconciler.hostid import new_token
from reconciler.journal import Intent, JournalEntry
from reconciler.lease import (  # the records of a lease (importable from here too)
    HEARTBEAT_FRACTION,
    LEASE_SECONDS,
    POLL_SECONDS,
    LockInfo,
    LockLost,
    NotLocked,
    Scope,
    github_sha,
    is_alive_local,
    is_dead_local,
    iso,
    utc_now,
)
from reconciler.runinfo import ci_run_url

log = logging.getLogger(__name__)

#: the records are defined in reconciler.lease and reconciler.journal; the stores and
#: older code import them from here, with the store itself
__all__ = [
    "HEARTBEAT_FRACTION", "LEASE_SECONDS", "POLL_SECONDS", "Intent", "JournalEntry",
    "LockInfo", "LockLost", "NotLocked", "Scope", "StateError", "StateStore", "iso", "utc_now",
]


class StateError(ReconcilerError):
    """The state store cannot be opened or used (path, permissions, network, schema)."""


class StateStore(ABC):
    """Locks and journal. Use as a context manager or call ``close``; safe to share
    between threads (one mutex around the connection).

    ``StateStore(path)`` opens the embedded SQLite store, like ``pathlib.Path`` gives a
    ``PosixPath``; :func:`reconciler.stores.open_store` picks the store reconciler.yaml names.
    Implementations provide the atomic primitives below; the lease rules live here once.
    """

    #: "sqlite" | "postgresql"
    kind = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> StateStore:
        if cls is StateStore:
            from reconciler.stores.sqlite import SqliteStateStore

            return object.__new__(SqliteStateStore)
        return object.__new__(cls)

    def __init__(
        self, *, lock_timeout: float = 0.0, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        #: seconds acquire waits for a live holder before giving up (``--lock-timeout``)
        self.lock_timeout = lock_timeout
        self.lease_seconds = lease_seconds
        self._mutex = threading.RLock()
        self._held: dict[str, LockInfo] = {}
        #: per held lease (by token), the monotonic time just *before* the statement that
        #: last took or renewed it succeeded: the lease surely lasts until then + lease
        self._renewed: dict[str, float] = {}
        #: platform accounts whose lease the heartbeat found reclaimed by another run
        self._lost: set[Scope] = set()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        #: how many times acquire had to wait for another holder (benchmarks read it)
        self.lock_waits = 0
        #: the schema version found when the store was opened (before migrating)
        self.opened_at_version = 0

    # --------------------------------------------------------- the primitives

    @abstractmethod
    def describe(self) -> str:
        """Where the store is, for messages: a path, or a URL without its password."""

    @abstractmethod
    def _insert(self, lock: LockInfo) -> LockInfo | None:
        """Insert ``lock`` if its scope has none; the stored lease, or None if held."""

    @abstractmethod
    def _read(self, scope: Scope) -> tuple[LockInfo, bool] | None:
        """The platform account's lease and whether it has expired, or None."""

    @abstractmethod
    def _swap(self, old_token: str, lock: LockInfo) -> LockInfo | None:
        """Replace the lease whose token is ``old_token`` by ``lock`` (None if it changed)."""

    @abstractmethod
    def _delete(self, scope: Scope, token: str) -> bool:
        """Delete the lease of ``scope`` if its token is still ``token``."""

    @abstractmethod
    def holders(self) -> list[LockInfo]:
        """Every lease held now, by platform account."""

    @abstractmethod
    def intent_key(self, scope: Scope, step: str, fresh: str, run_id: str, *,
                   about: JournalEntry | None = None) -> str:
        """The idempotency key of a write about to be sent, recorded *before* it is sent,
        with ``about`` (the journal line it will get, less its result) so that a run that
        stops before journaling it can be told later (:meth:`unjournaled`).

        ``step``: the digest of what the write does (``reconciler.steps.step_digest``).
        When an earlier write of the same step on the same platform account is still
        unsettled (its answer was lost: the process crashed, or retries ran out), its key
        is returned, so the platform answers that write instead of doing it twice;
        otherwise ``fresh`` is recorded and returned."""

    @abstractmethod
    def unjournaled(self, scope: Scope) -> list[Intent]:
        """The writes of ``scope`` recorded as intents that have no journal line yet, oldest
        first (a journal line naming an intent's key marks it journaled, atomically)."""

    @abstractmethod
    def unjournaled_scopes(self) -> set[Scope]:
        """The platform accounts that have writes without a journal line."""

    @abstractmethod
    def settle(self, key: str) -> None:
        """The platform answered the write of ``key`` (done, or refused): the same step
        made again later is a new write with a new key."""

    @abstractmethod
    def settle_all_but(self, scope: Scope, steps: Iterable[str]) -> None:
        """Settle the unsettled writes of ``scope`` whose step is not in ``steps`` (the
        steps a fresh plan still needs): the state moved on, so a later write of such a
        step is a new one."""

    @abstractmethod
    def _renew(self, lock: LockInfo) -> bool:
        """Push the lease's expiry forward; False when it is no longer ours."""

    @abstractmethod
    def record(self, entry: JournalEntry) -> None:
        """Append to the journal (append-only: nothing is ever updated or deleted); the
        intent of ``entry.idempotency_key``, if any, is marked journaled in the same
        transaction, so a write is never journaled twice."""

    @abstractmethod
    def history(self, account: str | None = None, limit: int | None = None) -> list[JournalEntry]:
        """Journal entries of every run, oldest first (the last ``limit`` ones when given)."""

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version the store is at."""

    @abstractmethod
    def migrate(self) -> tuple[int, int]:
        """Apply pending schema migrations: (version before, version after)."""

    @abstractmethod
    def _close(self) -> None: ...

    def applied(self, plan: str, account: str) -> JournalEntry | None:
        """The first step journaled for ``account`` from the saved plan of digest ``plan``
        (None: that plan was never applied to it)."""
        if not plan:
            return None
        return next((e for e in self.history(account) if e.plan == plan), None)

    @abstractmethod
    def now(self) -> str:
        """The store's time as ISO text (journal timestamps)."""

    # ------------------------------------------------------------------ locks

    def holder(self, scope: Scope) -> LockInfo | None:
        with self._mutex:
            found = self._read(scope)
        return found[0] if found else None

    def acquire(
        self,
        scope: Scope,
        account: str = "",
        owner: str = "apply",
        *,
        pid: int | None = None,
        host: str | None = None,
        break_dead: bool = True,
        timeout: float | None = None,
    ) -> LockInfo:
        """Take the platform account's lease or raise :class:`LockHeld` with the holder's
        details. ``account``: the slug applied, for messages only (whatever the slug, one
        platform account has one lock).

        An expired lease is reclaimed; with ``break_dead`` a lease of a process on *this*
        host that no longer exists is taken over at once (with a warning). Otherwise wait
        up to ``timeout`` seconds (default: the store's ``lock_timeout``) for the holder
        to finish. While held, the lease is renewed by the heartbeat thread.
        """
        wait = self.lock_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        mine = LockInfo(
            scope=scope,
            account=account or str(scope),
            owner=owner,
            pid=os.getpid() if pid is None else pid,
            host=socket.gethostname() if host is None else host,
            since="",
            token=new_token(),
            run_url=ci_run_url(),
            git_commit=github_sha(),
        )
        waited = False
        while True:
            asked = time.monotonic()
            with self._mutex:
                got, held = self._try(mine, break_dead)
            if got is not None:
                if pid is None:  # this process holds it: keep it alive
                    self._hold(got, asked)
                return got
            assert held is not None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                suffix = f" (waited {_seconds(wait)})" if wait > 0 else ""
                raise LockHeld(held.message() + suffix)
            if not waited:
                waited = True
                self.lock_waits += 1
                log.warning("waiting up to %s for %s", _seconds(wait), held.message())
            time.sleep(min(POLL_SECONDS, remaining))

    def _try(self, mine: LockInfo, break_dead: bool) -> tuple[LockInfo | None, LockInfo | None]:
        for _ in range(5):  # the holder may change between two statements: ask again
            got = self._insert(mine)
            if got is not None:
                return got, None
            found = self._read(mine.scope)
            if found is None:
                continue
            held, expired = found
            if expired:
                log.warning(
                    "reclaiming the expired lease of account %s (%s; %s pid %d on %s, "
                    "last heartbeat %s)",
                    held.account, mine.scope, held.owner, held.pid, held.host,
                    held.heartbeat or held.since,
                )
            elif break_dead and is_dead_local(held):
                log.warning(
                    "taking over the lock of account %s (%s): %s pid %d on this host (%s) "
                    "is gone",
                    held.account, mine.scope, held.owner, held.pid, held.host,
                )
            else:
                return None, held
            got = self._swap(held.token, mine)
            if got is not None:
                return got, None
        found = self._read(mine.scope)
        if found is None:
            raise LockHeld(f"account {mine.account} is locked; try again")
        return None, found[0]

    def release(self, lock: LockInfo) -> None:
        """Free a lease this run holds; one taken over by someone else is left alone."""
        with self._mutex:
            self._held.pop(lock.token, None)
            self._renewed.pop(lock.token, None)
            self._lost.discard(lock.scope)
            self._delete(lock.scope, lock.token)

    def unlock(self, scope: Scope, *, force: bool = False) -> LockInfo:
        """Break the platform account's lock; raises :class:`NotLocked` if none, and
        :class:`LockHeld` when its holder is a live process on this host (unless
        ``force``): breaking a running apply's lock lets two applies write at once."""
        with self._mutex:
            for _ in range(5):
                found = self._read(scope)
                if found is None:
                    break
                held = found[0]
                if not force and is_alive_local(held):
                    raise LockHeld(
                        f"account {held.account} is locked by {held.owner} pid {held.pid}, which "
                        "is still running on this host; let it finish (or stop it), or pass "
                        "--force"
                    )
                if self._delete(scope, held.token):
                    return held
        raise NotLocked(f"{scope} is not locked")

    @contextmanager
    def locked(self, scope: Scope, account: str = "", owner: str = "apply") -> Iterator[LockInfo]:
        lock = self.acquire(scope, account, owner)
        try:
            yield lock
        finally:
            self.release(lock)

    def check(self, scope: Scope) -> None:
        """Raise :class:`LockLost` if this run can no longer be sure it holds the lease of
        ``scope``: the heartbeat found it reclaimed (it expired while the run stalled), or
        could not renew it for so long (the store unreachable) that it may have expired
        and been taken by another run. Apply calls this before each write."""
        if scope in self._lost:
            raise LockLost(
                f"lost the lock of {scope}: its lease expired and another run took it; "
                "stopped before writing anything more"
            )
        # copies, not the mutex: a renewal hanging on the network must not hang this too
        held, renewed = self._held.copy(), self._renewed.copy()
        now = time.monotonic()
        ages = [now - renewed[token] for token, lock in held.items()
                if lock.scope == scope and token in renewed]
        # a margin of one heartbeat: the write about to be sent takes time too
        limit = self.lease_seconds * (1 - HEARTBEAT_FRACTION)
        if ages and min(ages) >= limit:
            raise LockLost(
                f"lost the lock of {scope}: its lease could not be renewed for "
                f"{min(ages):.0f}s (the state store {self.describe()} did not answer), so "
                "it may have expired and been taken by another run; stopped before "
                "writing anything more"
            )

    # -------------------------------------------------------------- heartbeat

    def _hold(self, lock: LockInfo, asked: float) -> None:
        with self._mutex:
            self._held[lock.token] = lock
            self._renewed[lock.token] = asked
            if self._beat is None:
                self._beat = threading.Thread(
                    target=self._heartbeat, name="reconciler-lease", daemon=True
                )
                self._beat.start()

    def _heartbeat(self) -> None:
        interval = max(self.lease_seconds * HEARTBEAT_FRACTION, 0.05)
        while not self._stop.wait(interval):
            self.renew_all()

    def renew_all(self) -> None:
        """Renew every lease this store holds (the heartbeat thread calls this)."""
        with self._mutex:
            for token, lock in list(self._held.items()):
                asked = time.monotonic()
                try:
                    ok = self._renew(lock)
                except ReconcilerError as e:  # a network blip: the next beat tries again
                    log.warning("could not renew the lease of account %s: %s", lock.account, e)
                    continue
                if not ok:
                    log.error("lost the lease of account %s: it was reclaimed", lock.account)
                    self._lost.add(lock.scope)
                    del self._held[token]
                    self._renewed.pop(token, None)
                    continue
                self._renewed[token] = asked

    def close(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
        with self._mutex:
            for lock in list(self._held.values()):
                with suppress(ReconcilerError):
                    self._delete(lock.scope, lock.token)
            self._held.clear()
            self._renewed.clear()
            self._close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _seconds(value: float) -> str:
    return f"{value:g}s"
