"""The state store: one SQLite file (default ``.reconciler/state.db``) holding a lock per
account and a journal of every step apply performed.

The platform itself is the truth about what exists; this store only says who is applying
right now and what was applied when, by whom, from which commit. Several processes (two CI
jobs, a person at a terminal) may open it at once: WAL mode and a busy timeout let them
share the file, and a lock is taken by one ``INSERT`` on a unique key inside
``BEGIN IMMEDIATE``, so two runs can never both believe they hold it.
"""

from __future__ import annotations

import getpass
import logging
import os
import socket
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
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
CREATE TABLE IF NOT EXISTS locks (
    account TEXT PRIMARY KEY,
    owner   TEXT NOT NULL,
    pid     INTEGER NOT NULL,
    host    TEXT NOT NULL,
    since   TEXT NOT NULL,
    token   TEXT NOT NULL
);
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


@dataclass(frozen=True)
class LockInfo:
    account: str
    owner: str
    pid: int
    host: str
    since: str
    #: proves ownership on release, so a run never frees a lock someone else took over
    token: str

    def message(self) -> str:
        return (
            f"account {self.account} is locked by {self.owner} pid {self.pid} on host "
            f"{self.host} since {self.since}; if that run is dead, run: "
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

    def holder(self, account: str) -> LockInfo | None:
        row = self._db.execute(
            "SELECT account, owner, pid, host, since, token FROM locks WHERE account = ?",
            (account,),
        ).fetchone()
        return LockInfo(*row) if row else None

    def acquire(
        self,
        account: str,
        owner: str = "apply",
        *,
        pid: int | None = None,
        host: str | None = None,
        break_dead: bool = True,
    ) -> LockInfo:
        """Take the account's lock or raise :class:`LockHeld` with the holder's details.

        ``break_dead``: a lock left by a process on *this* host that no longer exists (an
        apply that crashed or was killed) is taken over, with a warning on stderr. A lock
        from another host cannot be checked and needs ``reconciler unlock``.
        """
        mine = LockInfo(
            account=account,
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
                held = self.holder(account)
                if held is None:  # cannot happen inside BEGIN IMMEDIATE; stay safe anyway
                    raise LockHeld(f"account {account} is locked; try again") from None
                if not (break_dead and _is_dead_local(held)):
                    raise LockHeld(held.message()) from None
                log.warning(
                    "taking over the lock of account %s: %s pid %d on this host (%s) is gone",
                    account,
                    held.owner,
                    held.pid,
                    held.host,
                )
                self._db.execute("DELETE FROM locks WHERE account = ?", (account,))
                self._insert_lock(mine)
                return mine

    def release(self, lock: LockInfo) -> None:
        """Free a lock this run holds; a lock taken over by someone else is left alone."""
        with self._immediate():
            self._db.execute(
                "DELETE FROM locks WHERE account = ? AND token = ?", (lock.account, lock.token)
            )

    def unlock(self, account: str, *, force: bool = False) -> LockInfo:
        """Break the account's lock; raises :class:`NotLocked` if none, and
        :class:`LockHeld` when its holder is a live process on this host (unless
        ``force``): breaking a running apply's lock lets two applies write at once."""
        with self._immediate():
            held = self.holder(account)
            if held is None:
                raise NotLocked(f"account {account} is not locked")
            if not force and _is_alive_local(held):
                raise LockHeld(
                    f"account {account} is locked by {held.owner} pid {held.pid}, which is "
                    "still running on this host; let it finish (or stop it), or pass --force"
                )
            self._db.execute("DELETE FROM locks WHERE account = ?", (account,))
            return held

    @contextmanager
    def locked(self, account: str, owner: str = "apply") -> Iterator[LockInfo]:
        lock = self.acquire(account, owner)
        try:
            yield lock
        finally:
            self.release(lock)

    def _insert_lock(self, lock: LockInfo) -> None:
        self._db.execute(
            "INSERT INTO locks (account, owner, pid, host, since, token) VALUES (?,?,?,?,?,?)",
            (lock.account, lock.owner, lock.pid, lock.host, lock.since, lock.token),
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


# ------------------------------------------------------------------ run metadata


@dataclass(frozen=True)
class RunInfo:
    """Who runs this apply; stamped on every journal entry with the files' git commit."""

    run_id: str
    actor: str

    @classmethod
    def new(cls) -> RunInfo:
        return cls(run_id=uuid.uuid4().hex[:12], actor=current_actor())


def current_actor() -> str:
    """The GitHub user in Actions, else the OS user."""
    actor = os.environ.get("GITHUB_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


def git_commit(path: Path | str) -> str | None:
    """``git rev-parse HEAD`` of the repository holding ``path``; None outside git."""
    p = Path(path)
    where = p if p.is_dir() else p.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None
