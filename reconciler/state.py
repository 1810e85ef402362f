"""The state store: one SQLite file (default ``.reconciler/state.db``) holding a lock per
platform account, the idempotency keys of writes whose answer is not known yet, and a
journal of every step apply performed.

The platform itself is the truth about what exists; this store only says who is applying
right now, which writes may have happened without an answer, and what was applied when, by
whom, from which commit. Several processes (two CI jobs, a person at a terminal) may open it
at once: WAL mode and a busy timeout let them share the file, and a lock is taken by one
``INSERT`` on a unique key inside ``BEGIN IMMEDIATE``, so two runs can never both believe
they hold it.

Locks and keys belong to a :class:`Scope`, the platform account (platform, external id),
never to the file's slug: two files naming one platform account, or a slug renamed between
two runs, share one lock and one set of keys. Another store (a database shared by CI
runners) implements the same methods with the same keying.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.errors import LockHeld, ReconcilerError

log = logging.getLogger(__name__)

#: seconds a connection waits for another writer before SQLite reports "database is locked"
BUSY_TIMEOUT = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS account_locks (
    platform    TEXT NOT NULL,
    external_id TEXT NOT NULL,
    account     TEXT NOT NULL,
    owner       TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    host        TEXT NOT NULL,
    since       TEXT NOT NULL,
    token       TEXT NOT NULL,
    PRIMARY KEY (platform, external_id)
);
CREATE TABLE IF NOT EXISTS intents (
    key         TEXT PRIMARY KEY,
    platform    TEXT NOT NULL,
    external_id TEXT NOT NULL,
    step        TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    opened      TEXT NOT NULL,
    settled     TEXT
);
CREATE INDEX IF NOT EXISTS open_intents ON intents (platform, external_id, step)
    WHERE settled IS NULL;
CREATE TABLE IF NOT EXISTS journal (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    time            TEXT NOT NULL,
    run_id          TEXT NOT NULL,
    account         TEXT NOT NULL,
    step_id         TEXT NOT NULL,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    result          TEXT NOT NULL,
    error           TEXT NOT NULL DEFAULT '',
    detail          TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL DEFAULT '',
    git_commit      TEXT,
    actor           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_by_account ON journal (account, id);
"""


class NotLocked(ReconcilerError):
    """``reconciler unlock`` on an account nobody holds."""


class StateError(ReconcilerError):
    """The state file cannot be opened or used (path, permissions, corruption)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """``2026-11-22T10:01:02Z``: second precision, always UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, order=True)
class Scope:
    """The platform account that locks and idempotency keys belong to."""

    platform: str
    external_id: str

    def __str__(self) -> str:
        return f"{self.platform} {self.external_id}"


@dataclass(frozen=True)
class LockInfo:
    scope: Scope
    #: the slug of the file the holder applies (for messages and ``unlock SLUG``)
    account: str
    owner: str
    pid: int
    host: str
    since: str
    #: proves ownership on release, so a run never frees a lock someone else took over
    token: str

    def message(self) -> str:
        return (
            f"account {self.account} ({self.scope}) is locked by {self.owner} pid {self.pid} "
            f"on host {self.host} since {self.since}; if that run is dead, run: "
            f"reconciler unlock {self.account}"
        )


@dataclass(frozen=True)
class JournalEntry:
    time: str
    account: str
    step_id: str
    action: str
    target: str
    #: done | pending | failed | failed-transient | skipped | waiting | manual
    result: str
    error: str = ""
    detail: str = ""
    idempotency_key: str = ""
    git_commit: str | None = None
    actor: str = ""
    run_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class StateStore:
    """Locks and journal in one SQLite file. Use as a context manager or call ``close``."""

    def __init__(self, path: Path | str, *, now: Callable[[], datetime] = utc_now) -> None:
        self.path = Path(path)
        self._now = now
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN ourselves, so IMMEDIATE means what it says
            self._db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT, isolation_level=None)
            self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise StateError(f"cannot open the state store {self.path}: {e}") from e

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ locks

    _LOCK_COLUMNS = "platform, external_id, account, owner, pid, host, since, token"

    def holder(self, scope: Scope) -> LockInfo | None:
        row = self._db.execute(
            f"SELECT {self._LOCK_COLUMNS} FROM account_locks"
            " WHERE platform = ? AND external_id = ?",
            (scope.platform, scope.external_id),
        ).fetchone()
        return _lock(row) if row else None

    def holders(self) -> list[LockInfo]:
        """Every lock held now, by platform account."""
        rows = self._db.execute(
            f"SELECT {self._LOCK_COLUMNS} FROM account_locks ORDER BY platform, external_id"
        ).fetchall()
        return [_lock(row) for row in rows]

    def acquire(
        self,
        scope: Scope,
        account: str = "",
        owner: str = "apply",
        *,
        pid: int | None = None,
        host: str | None = None,
        break_dead: bool = True,
    ) -> LockInfo:
        """Take the platform account's lock or raise :class:`LockHeld` with the holder's
        details. ``account``: the slug applied, for messages only (whatever the slug, one
        platform account has one lock).

        ``break_dead``: a lock left by a process on *this* host that no longer exists (an
        apply that crashed or was killed) is taken over, with a warning on stderr. A lock
        from another host cannot be checked and needs ``reconciler unlock``.
        """
        mine = LockInfo(
            scope=scope,
            account=account or str(scope),
            owner=owner,
            pid=os.getpid() if pid is None else pid,
            host=socket.gethostname() if host is None else host,
            since=iso(self._now()),
            token=uuid.uuid4().hex,
        )
        with self._immediate():
            try:
                self._insert_lock(mine)
                return mine
            except sqlite3.IntegrityError:
                held = self.holder(scope)
                if held is None:  # cannot happen inside BEGIN IMMEDIATE; stay safe anyway
                    raise LockHeld(f"account {mine.account} is locked; try again") from None
                if not (break_dead and _is_dead_local(held)):
                    raise LockHeld(held.message()) from None
                log.warning(
                    "taking over the lock of account %s (%s): %s pid %d on this host (%s) "
                    "is gone",
                    held.account,
                    scope,
                    held.owner,
                    held.pid,
                    held.host,
                )
                self._delete_lock(scope)
                self._insert_lock(mine)
                return mine

    def release(self, lock: LockInfo) -> None:
        """Free a lock this run holds; a lock taken over by someone else is left alone."""
        with self._immediate():
            self._db.execute(
                "DELETE FROM account_locks WHERE platform = ? AND external_id = ? AND token = ?",
                (lock.scope.platform, lock.scope.external_id, lock.token),
            )

    def unlock(self, scope: Scope, *, force: bool = False) -> LockInfo:
        """Break the platform account's lock; raises :class:`NotLocked` if none, and
        :class:`LockHeld` when its holder is a live process on this host (unless
        ``force``): breaking a running apply's lock lets two applies write at once."""
        with self._immediate():
            held = self.holder(scope)
            if held is None:
                raise NotLocked(f"{scope} is not locked")
            if not force and _is_alive_local(held):
                raise LockHeld(
                    f"account {held.account} is locked by {held.owner} pid {held.pid}, which "
                    "is still running on this host; let it finish (or stop it), or pass --force"
                )
            self._delete_lock(scope)
            return held

    @contextmanager
    def locked(self, scope: Scope, account: str = "", owner: str = "apply") -> Iterator[LockInfo]:
        lock = self.acquire(scope, account, owner)
        try:
            yield lock
        finally:
            self.release(lock)

    def _insert_lock(self, lock: LockInfo) -> None:
        self._db.execute(
            f"INSERT INTO account_locks ({self._LOCK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
            (lock.scope.platform, lock.scope.external_id, lock.account, lock.owner, lock.pid,
             lock.host, lock.since, lock.token),
        )

    def _delete_lock(self, scope: Scope) -> None:
        self._db.execute(
            "DELETE FROM account_locks WHERE platform = ? AND external_id = ?",
            (scope.platform, scope.external_id),
        )

    @contextmanager
    def _immediate(self) -> Iterator[None]:
        """A write transaction that takes SQLite's write lock up front (waiting up to the
        busy timeout), so a read-then-write inside it cannot race another process."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise StateError(f"state store {self.path} is busy: {e}") from e
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ------------------------------------------------------- idempotency keys

    def intent_key(self, scope: Scope, step: str, fresh: str, run_id: str) -> str:
        """The idempotency key of a write about to be sent, recorded *before* it is sent.

        ``step``: the digest of what the write does (``reconciler.steps.step_digest``).
        When an earlier write of the same step on the same platform account is still
        unsettled (its answer was lost: the process crashed, or retries ran out), its key
        is returned, so the platform answers that write instead of doing it twice;
        otherwise ``fresh`` is recorded and returned."""
        with self._immediate():
            row = self._db.execute(
                "SELECT key FROM intents WHERE platform = ? AND external_id = ? AND step = ?"
                " AND settled IS NULL ORDER BY opened LIMIT 1",
                (scope.platform, scope.external_id, step),
            ).fetchone()
            if row is not None:
                return str(row[0])
            self._db.execute(
                "INSERT INTO intents (key, platform, external_id, step, run_id, opened)"
                " VALUES (?,?,?,?,?,?)",
                (fresh, scope.platform, scope.external_id, step, run_id, self.now()),
            )
            return fresh

    def settle(self, key: str) -> None:
        """The platform answered the write of ``key`` (done, or refused): the same step
        made again later is a new write with a new key."""
        with self._immediate():
            self._db.execute(
                "UPDATE intents SET settled = ? WHERE key = ? AND settled IS NULL",
                (self.now(), key),
            )

    def settle_all_but(self, scope: Scope, steps: Iterable[str]) -> None:
        """Settle the unsettled writes of ``scope`` whose step is not in ``steps`` (the
        steps a fresh plan still needs): the state moved on, so a later write of such a
        step is a new one."""
        keep = set(steps)
        with self._immediate():
            rows = self._db.execute(
                "SELECT key, step FROM intents WHERE platform = ? AND external_id = ?"
                " AND settled IS NULL",
                (scope.platform, scope.external_id),
            ).fetchall()
            for key, step in rows:
                if step not in keep:
                    self._db.execute(
                        "UPDATE intents SET settled = ? WHERE key = ?", (self.now(), key)
                    )

    # ---------------------------------------------------------------- journal

    def record(self, entry: JournalEntry) -> None:
        with self._immediate():
            self._db.execute(
                "INSERT INTO journal (time, run_id, account, step_id, action, target, result,"
                " error, detail, idempotency_key, git_commit, actor)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    entry.time,
                    entry.run_id,
                    entry.account,
                    entry.step_id,
                    entry.action,
                    entry.target,
                    entry.result,
                    entry.error,
                    entry.detail,
                    entry.idempotency_key,
                    entry.git_commit,
                    entry.actor,
                ),
            )

    def history(self, account: str | None = None, limit: int | None = None) -> list[JournalEntry]:
        """Journal entries, oldest first (the last ``limit`` ones when given)."""
        sql = (
            "SELECT time, account, step_id, action, target, result, error, detail,"
            " idempotency_key, git_commit, actor, run_id FROM journal"
        )
        args: list[Any] = []
        if account is not None:
            sql += " WHERE account = ?"
            args.append(account)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = self._db.execute(sql, args).fetchall()
        return [JournalEntry(*row) for row in reversed(rows)]

    def now(self) -> str:
        return iso(self._now())


def _lock(row: Any) -> LockInfo:
    platform, external_id, *rest = row
    return LockInfo(Scope(platform, external_id), *rest)


def _is_alive_local(lock: LockInfo) -> bool:
    """True when the holder is a process on this host that still exists."""
    if lock.host != socket.gethostname():
        return False
    try:
        os.kill(lock.pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, another user's
        return True
    return True


def _is_dead_local(lock: LockInfo) -> bool:
    if lock.host != socket.gethostname() or lock.pid == os.getpid():
        return False
    try:
        os.kill(lock.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    except OSError:
        return False
    return False
