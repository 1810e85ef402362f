"""The sandbox's SQLite file: schema, transactions, the clock, idempotency, order numbers.

One file holds every platform's accounts. Each write is one ``BEGIN IMMEDIATE``
transaction (so two processes never interleave a read-check-write), reads run in one
deferred transaction (one consistent snapshot), the journal is WAL and a busy timeout makes
a second process wait instead of failing with "database is locked".
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError, TransientError

SCHEMA_VERSION = 1
#: The sandbox clock starts here so that demo output is the same on every machine.
START_DATE = date(2026, 11, 2)
#: iPECS order numbers continue from the seed's (503035, 503037).
FIRST_ORDER_NO = 503037
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    external_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'client',
    UNIQUE (platform, external_id)
);
CREATE TABLE IF NOT EXISTS sites (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (account_id, name)
);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id TEXT,
    extension INTEGER NOT NULL,
    name TEXT NOT NULL,
    email TEXT,
    site TEXT,
    profile TEXT NOT NULL,
    add_ons TEXT NOT NULL DEFAULT '',
    licence TEXT,
    caller_id TEXT,
    call_barring TEXT,
    fraud_limit INTEGER,
    UNIQUE (account_id, extension)
);
CREATE TABLE IF NOT EXISTS pools (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    package TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    PRIMARY KEY (account_id, package)
);
CREATE TABLE IF NOT EXISTS subscriptions (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    started_on TEXT NOT NULL,
    PRIMARY KEY (account_id, sku)
);
CREATE TABLE IF NOT EXISTS orders (
    order_no INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    package TEXT NOT NULL,
    delta INTEGER NOT NULL,
    state TEXT NOT NULL,
    submitted_on TEXT NOT NULL,
    approve_on TEXT,
    idempotency_key TEXT
);
CREATE INDEX IF NOT EXISTS orders_by_account ON orders (account_id);
CREATE TABLE IF NOT EXISTS charges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    extension INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    item TEXT NOT NULL,
    amount TEXT NOT NULL,
    charged_on TEXT NOT NULL,
    idempotency_key TEXT
);
CREATE INDEX IF NOT EXISTS charges_by_account ON charges (account_id);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL
);
"""
_TABLES = ("idempotency", "charges", "orders", "subscriptions", "pools", "users", "sites",
           "accounts", "meta")


class SandboxDB:
    """A connection to one sandbox file. Thread-safe (one lock around the connection)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                check_same_thread=False,
            )
        except (OSError, sqlite3.Error) as e:
            raise ReconcilerError(f"cannot open the sandbox file {path}: {e}") from e
        self.conn.row_factory = sqlite3.Row
        self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self._set_wal()

    def _set_wal(self) -> None:
        # Switching a brand-new file to WAL can race with a second process doing the same;
        # SQLite then answers "locked" without calling the busy handler, so retry briefly.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode = WAL")
                self.conn.execute("PRAGMA synchronous = NORMAL")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise self._error(e) from e
                time.sleep(0.01)
            except sqlite3.DatabaseError as e:
                raise self._error(e) from e

    def close(self) -> None:
        self.conn.close()

    # ----------------------------------------------------------------- transactions

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back on any exception."""
        with self._lock, self._errors():
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot for several SELECTs."""
        with self._lock, self._errors():
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                self.conn.execute("COMMIT")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite's own failures as one line: busy after the timeout is worth a retry,
        anything else (not a database, disk full, read-only) is not."""
        try:
            yield
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise TransientError(f"sandbox file {self.path}: {e}") from e
            raise self._error(e) from e
        except sqlite3.Error as e:
            raise self._error(e) from e

    def _error(self, e: sqlite3.Error) -> ReconcilerError:
        return ReconcilerError(f"sandbox file {self.path}: {e}")

    # ----------------------------------------------------------------------- schema

    def ensure_schema(self, seed: Callable[[sqlite3.Connection], None] | None = None) -> bool:
        """Create the tables on first use, and ``seed`` them in the same transaction;
        True when the file was new.

        One transaction: a second process opening the file meanwhile sees either no
        tables (and waits for the write lock) or the seeded tables, never tables without
        their seed (it would then find no demo account)."""
        if self._version() == SCHEMA_VERSION:
            return False  # the usual case: no write lock taken just to open the file
        with self.write() as c:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    c.execute(statement)
            row = c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                init_meta(c)
                if seed is not None:
                    seed(c)
                return True
            if int(row["value"]) != SCHEMA_VERSION:
                raise ReconcilerError(
                    f"sandbox file {self.path} has schema version {row['value']}, this "
                    f"reconciler needs {SCHEMA_VERSION}: run `reconciler sandbox reset`"
                )
            return False


    def _version(self) -> int | None:
        with self.read() as c:
            exists = c.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone()
            if not exists:
                return None
            row = c.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            return int(row["value"]) if row else None


def init_meta(c: sqlite3.Connection) -> None:
    c.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    c.execute("INSERT INTO meta VALUES ('today', ?)", (START_DATE.isoformat(),))


def wipe(c: sqlite3.Connection) -> None:
    """Delete everything (inside the caller's write transaction), ids restart too."""
    for table in _TABLES:
        c.execute(f"DELETE FROM {table}")
    c.execute("DELETE FROM sqlite_sequence")
    init_meta(c)


# ---------------------------------------------------------------------------- clock


def today(c: sqlite3.Connection) -> date:
    row = c.execute("SELECT value FROM meta WHERE key = 'today'").fetchone()
    return date.fromisoformat(row["value"]) if row else START_DATE


def advance_clock(c: sqlite3.Connection, days: int) -> date:
    new = today(c) + timedelta(days=days)
    c.execute("UPDATE meta SET value = ? WHERE key = 'today'", (new.isoformat(),))
    return new


# ---------------------------------------------------------------------- idempotency


def recorded_outcome(c: sqlite3.Connection, key: str) -> dict[str, Any] | None:
    row = c.execute(
        "SELECT account_id, action, outcome FROM idempotency WHERE key = ?", (key,)
    ).fetchone()
    if row is None:
        return None
    out: dict[str, Any] = json.loads(row["outcome"])
    out["_account_id"], out["_action"] = row["account_id"], row["action"]
    return out


def record_outcome(
    c: sqlite3.Connection, key: str, account_id: int, action: str, outcome: dict[str, Any]
) -> None:
    c.execute(
        "INSERT INTO idempotency (key, account_id, action, outcome) VALUES (?, ?, ?, ?)",
        (key, account_id, action, json.dumps(outcome, sort_keys=True)),
    )


def next_order_no(c: sqlite3.Connection) -> int:
    row = c.execute("SELECT MAX(order_no) AS n FROM orders").fetchone()
    return FIRST_ORDER_NO if row["n"] is None else int(row["n"]) + 1
