"""The embedded state store: one SQLite file (default ``.reconciler/state.db``).

Several processes (two CI jobs on one machine, a person at a terminal) may open it at once:
WAL mode and a busy timeout let them share the file, and every lease operation is a single
statement, atomic under SQLite's write lock. Times come from this machine's clock.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.state import (
    LEASE_SECONDS,
    JournalEntry,
    LockInfo,
    Scope,
    StateError,
    StateStore,
    iso,
    utc_now,
)
from reconciler.stores.journal import INTENT_ABOUT, SqlJournal, intent_about, newer_schema

#: seconds a connection waits for another writer before SQLite reports "database is locked"
BUSY_TIMEOUT = 10.0

#: versioned migrations, applied in order; PRAGMA user_version records the last one
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
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
        """,
    ),
    (
        2,
        """
        ALTER TABLE account_locks ADD COLUMN run_url TEXT NOT NULL DEFAULT '';
        ALTER TABLE account_locks ADD COLUMN git_commit TEXT NOT NULL DEFAULT '';
        ALTER TABLE account_locks ADD COLUMN expires TEXT NOT NULL DEFAULT '';
        ALTER TABLE account_locks ADD COLUMN heartbeat TEXT NOT NULL DEFAULT '';
        CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
        BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
        CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
        BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
        """,
    ),
    (
        3,
        """
        ALTER TABLE journal ADD COLUMN plan TEXT NOT NULL DEFAULT '';
        """,
    ),
    (
        4,
        # an intent keeps what its journal line will say, and whether it has one; intents
        # from before kept nothing to say it with, so they count as journaled (assumed)
        """
        ALTER TABLE intents ADD COLUMN account TEXT NOT NULL DEFAULT '';
        ALTER TABLE intents ADD COLUMN step_id TEXT NOT NULL DEFAULT '';
        ALTER TABLE intents ADD COLUMN action TEXT NOT NULL DEFAULT '';
        ALTER TABLE intents ADD COLUMN target TEXT NOT NULL DEFAULT '';
        ALTER TABLE intents ADD COLUMN actor TEXT NOT NULL DEFAULT '';
        ALTER TABLE intents ADD COLUMN git_commit TEXT;
        ALTER TABLE intents ADD COLUMN plan TEXT NOT NULL DEFAULT '';
        ALTER TABLE intents ADD COLUMN journaled TEXT;
        UPDATE intents SET journaled = opened;
        CREATE INDEX IF NOT EXISTS unjournaled_intents ON intents (platform, external_id, opened)
            WHERE journaled IS NULL;
        """,
    ),
)
LATEST = MIGRATIONS[-1][0]

_LOCK_COLUMNS = (
    "platform, external_id, account, owner, pid, host, since, token, run_url, git_commit,"
    " expires, heartbeat"
)


def _precise(moment: datetime) -> str:
    """Lease times to the microsecond, still comparable as text."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SqliteStateStore(SqlJournal, StateStore):
    _journal_table = "journal"
    _intents_table = "intents"
    _param = "?"
    kind = "sqlite"

    def __init__(
        self,
        path: Path | str,
        *,
        now: Callable[[], datetime] = utc_now,
        lock_timeout: float = 0.0,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        super().__init__(lock_timeout=lock_timeout, lease_seconds=lease_seconds)
        self.path = Path(path)
        self._now = now
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: autocommit, each statement its own transaction (we
            # issue BEGIN ourselves where several must go together)
            self._db = sqlite3.connect(
                str(self.path), timeout=BUSY_TIMEOUT, isolation_level=None,
                check_same_thread=False,
            )
            self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            self._wal()
            self.opened_at_version = self.schema_version()
            if self.opened_at_version > LATEST:
                self._db.close()
                raise newer_schema(str(self.path), self.opened_at_version, LATEST)
            if self.opened_at_version < LATEST:
                # the version found under the migration lock: another process may have
                # migrated meanwhile, and then this one did nothing
                self.opened_at_version, _ = self.migrate()
        except (OSError, sqlite3.Error) as e:
            raise StateError(f"cannot open the state store {self.path}: {e}") from e

    def _wal(self) -> None:
        """Switch to WAL. Several processes creating the file at once can find it busy
        without SQLite waiting (the switch does not call the busy handler): ask again."""
        for attempt in range(50):
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or attempt == 49:
                    raise
                time.sleep(0.1)

    def describe(self) -> str:
        return str(self.path)

    def _close(self) -> None:
        self._db.close()

    def now(self) -> str:
        return iso(self._now())

    # ------------------------------------------------------------- migrations

    def schema_version(self) -> int:
        with self._mutex:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> tuple[int, int]:
        with self._mutex:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                before = self.schema_version()
                if before > LATEST:
                    self._db.execute("ROLLBACK")
                    raise newer_schema(str(self.path), before, LATEST)
                for version, script in MIGRATIONS:
                    if version > before:
                        self._run_script(script)
                self._db.execute(f"PRAGMA user_version = {LATEST}")
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StateError(f"cannot migrate the state store {self.path}: {e}") from e
            return before, max(before, LATEST)

    def _run_script(self, script: str) -> None:
        # executescript would COMMIT our transaction first; split on complete statements
        buf = ""
        for line in script.splitlines(keepends=True):
            buf += line
            if sqlite3.complete_statement(buf):
                self._db.execute(buf)
                buf = ""

    # ------------------------------------------------------------------ locks

    def _lease(self) -> tuple[str, str, str]:
        now = self._now()
        return iso(now), _precise(now + timedelta(seconds=self.lease_seconds)), _precise(now)

    def _insert(self, lock: LockInfo) -> LockInfo | None:
        since, expires, beat = self._lease()
        new = replace(lock, since=since, expires=expires, heartbeat=beat)
        cur = self._execute(
            f"INSERT INTO account_locks ({_LOCK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (platform, external_id) DO NOTHING",
            _row(new),
        )
        return new if cur.rowcount == 1 else None

    def _read(self, scope: Scope) -> tuple[LockInfo, bool] | None:
        row = self._execute(
            f"SELECT {_LOCK_COLUMNS} FROM account_locks WHERE platform = ? AND external_id = ?",
            (scope.platform, scope.external_id),
        ).fetchone()
        if row is None:
            return None
        lock = _lock(row)
        return lock, bool(lock.expires) and lock.expires <= _precise(self._now())

    def holders(self) -> list[LockInfo]:
        rows = self._execute(
            f"SELECT {_LOCK_COLUMNS} FROM account_locks ORDER BY platform, external_id"
        ).fetchall()
        return [_lock(row) for row in rows]

    def _swap(self, old_token: str, lock: LockInfo) -> LockInfo | None:
        since, expires, beat = self._lease()
        new = replace(lock, since=since, expires=expires, heartbeat=beat)
        cur = self._execute(
            "UPDATE account_locks SET account = ?, owner = ?, pid = ?, host = ?, since = ?,"
            " token = ?, run_url = ?, git_commit = ?, expires = ?, heartbeat = ?"
            " WHERE platform = ? AND external_id = ? AND token = ?",
            (*_row(new)[2:], lock.scope.platform, lock.scope.external_id, old_token),
        )
        return new if cur.rowcount == 1 else None

    def _delete(self, scope: Scope, token: str) -> bool:
        cur = self._execute(
            "DELETE FROM account_locks WHERE platform = ? AND external_id = ? AND token = ?",
            (scope.platform, scope.external_id, token),
        )
        return cur.rowcount == 1

    def _renew(self, lock: LockInfo) -> bool:
        _, expires, beat = self._lease()
        cur = self._execute(
            "UPDATE account_locks SET expires = ?, heartbeat = ?"
            " WHERE platform = ? AND external_id = ? AND token = ?",
            (expires, beat, lock.scope.platform, lock.scope.external_id, lock.token),
        )
        return cur.rowcount == 1

    # ------------------------------------------------------- idempotency keys

    def intent_key(self, scope: Scope, step: str, fresh: str, run_id: str, *,
                   about: JournalEntry | None = None) -> str:
        with self._mutex, self._immediate():
            row = self._execute(
                "SELECT key FROM intents WHERE platform = ? AND external_id = ? AND step = ?"
                " AND settled IS NULL ORDER BY opened LIMIT 1",
                (scope.platform, scope.external_id, step),
            ).fetchone()
            if row is not None:
                return str(row[0])
            self._execute(
                "INSERT INTO intents (key, platform, external_id, step, run_id, opened,"
                f" {', '.join(INTENT_ABOUT)}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (fresh, scope.platform, scope.external_id, step, run_id, _precise(self._now()),
                 *intent_about(about)),
            )
            return fresh

    def settle(self, key: str) -> None:
        self._execute(
            "UPDATE intents SET settled = ? WHERE key = ? AND settled IS NULL",
            (self.now(), key),
        )

    def settle_all_but(self, scope: Scope, steps: Iterable[str]) -> None:
        keep = set(steps)
        with self._mutex, self._immediate():
            rows = self._execute(
                "SELECT key, step FROM intents WHERE platform = ? AND external_id = ?"
                " AND settled IS NULL",
                (scope.platform, scope.external_id),
            ).fetchall()
            for key, step in rows:
                if step not in keep:
                    self._execute(
                        "UPDATE intents SET settled = ? WHERE key = ?", (self.now(), key)
                    )

    def _insert_and_mark(self, insert: str, args: tuple[Any, ...], mark: str,
                         mark_args: tuple[Any, ...]) -> None:
        with self._mutex, self._immediate():
            self._execute(insert, args)
            self._execute(mark, mark_args)

    @contextmanager
    def _immediate(self) -> Iterator[None]:
        """A write transaction that takes SQLite's write lock up front, so a
        read-then-write inside it cannot race another process."""
        self._execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._execute("COMMIT")


    def _execute(self, sql: str, args: Any = ()) -> sqlite3.Cursor:
        with self._mutex:
            try:
                return self._db.execute(sql, args)
            except sqlite3.Error as e:
                raise StateError(f"state store {self.path}: {e}") from e


def _row(lock: LockInfo) -> tuple[Any, ...]:
    return (lock.scope.platform, lock.scope.external_id, lock.account, lock.owner, lock.pid,
            lock.host, lock.since, lock.token, lock.run_url, lock.git_commit, lock.expires,
            lock.heartbeat)


def _lock(row: Any) -> LockInfo:
    platform, external_id, *rest = row
    return LockInfo(Scope(platform, external_id), *rest)
