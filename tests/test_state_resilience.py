"""The state store when the database misbehaves under a running apply: the connection is
dropped (a server restart, a pooler recycling it, the network), the database is
unreachable for longer than a lease, or it was migrated by a newer reconciler. Against a
real PostgreSQL server (tests/postgres_server.py) and the SQLite file."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import psycopg
import pytest
from apply_helpers import invoke, workspace
from postgres_server import PASSWORD, PostgresServer

from reconciler.errors import LockHeld
from reconciler.state import LockLost, Scope, StateError
from reconciler.stores import STATE_URL_ENV
from reconciler.stores.postgres import LATEST as PG_LATEST
from reconciler.stores.postgres import PostgresStateStore
from reconciler.stores.sqlite import LATEST as SQLITE_LATEST
from reconciler.stores.sqlite import SqliteStateStore

NW = Scope("mitel-connect", "400123")


def _drop_connection(server: PostgresServer, store: PostgresStateStore) -> None:
    """What a server restart or a pooler does to the store's session."""
    with psycopg.connect(server.url(), password=PASSWORD, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (store._conn.info.backend_pid,))


def _wait(predicate: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


def test_a_dropped_connection_does_not_lose_a_running_applys_lease(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.new_database()
    holder = PostgresStateStore(url, password=PASSWORD, lease_seconds=1.5)
    other = PostgresStateStore(url, password=PASSWORD)
    try:
        holder.acquire(NW, "northwind")
        _drop_connection(postgres_server, holder)
        time.sleep(2.5)  # longer than the lease: only renewals on a new connection keep it
        with pytest.raises(LockHeld):
            other.acquire(NW, "northwind", host="ci-8")
        holder.check(NW)  # still ours, and the store works again
        assert [e.account for e in holder.history()] == []
    finally:
        holder.close()
        other.close()


def test_a_lease_that_could_not_be_renewed_stops_the_writes(
    postgres_server: PostgresServer,
) -> None:
    """The holder cannot reach the database for longer than its lease while another
    runner can: that runner reclaims the account, so the holder must not write again
    (before: it went on writing, two writers on one account)."""
    url = postgres_server.new_database()
    dbname = url.rsplit("/", 1)[1]
    role = f"runner_{dbname}"
    with psycopg.connect(postgres_server.url(), password=PASSWORD, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'runner-pw'")
        admin.execute(f'ALTER DATABASE "{dbname}" OWNER TO {role}')
    holder = PostgresStateStore(url.replace("postgres@", f"{role}@"), password="runner-pw",
                                lease_seconds=1.5)
    other = PostgresStateStore(url, password=PASSWORD, lock_timeout=5)
    try:
        holder.acquire(NW, "northwind")
        holder.check(NW)
        with psycopg.connect(postgres_server.url(), password=PASSWORD,
                             autocommit=True) as admin:
            admin.execute(f"ALTER ROLE {role} NOLOGIN")  # the holder's network is gone
        _drop_connection(postgres_server, holder)
        _wait(lambda: _lost(holder), 5)
        with pytest.raises(LockLost, match=(
            r"^lost the lock of mitel-connect 400123: its lease could not be renewed for \d+s "
            r"\(the state store postgresql://runner_\w+@127\.0\.0\.1:\d+/\w+ did not "
            r"answer\), so it may have expired and been taken by another run; stopped before "
            r"writing anything more$"
        )):
            holder.check(NW)
        assert other.acquire(NW, "northwind", host="ci-8").host == "ci-8"  # reclaimed
        with psycopg.connect(postgres_server.url(), password=PASSWORD,
                             autocommit=True) as admin:
            admin.execute(f"ALTER ROLE {role} LOGIN")  # back: its renewal finds it taken
        _wait(lambda: NW in holder._lost, 5)
        with pytest.raises(LockLost, match="its lease expired and another run took it"):
            holder.check(NW)
        assert other.holder(NW).host == "ci-8"  # type: ignore[union-attr]
    finally:
        holder.close()
        other.close()


def _lost(store: PostgresStateStore) -> bool:
    try:
        store.check(NW)
    except LockLost:
        return True
    return False


# ------------------------------------------------------------- newer schema


def test_a_database_migrated_by_a_newer_reconciler_is_refused_on_opening(
    tmp_path: Path, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres_server.new_database()
    PostgresStateStore(url, password=PASSWORD).close()
    with psycopg.connect(url, password=PASSWORD, autocommit=True) as admin:
        admin.execute("INSERT INTO reconciler_schema (version, description) VALUES (%s, 'x')",
                      (PG_LATEST + 1,))
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    monkeypatch.setenv(STATE_URL_ENV, url)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    expected = (
        f"error: the state store {url} is at schema version {PG_LATEST + 1}, newer than this "
        f"reconciler knows ({PG_LATEST}); upgrade reconciler\n"
    )
    for args in (("history",), ("apply", "--auto-approve"), ("state", "migrate"),
                 ("unlock", "northwind")):
        result = invoke(ws, *args)
        assert (result.exit_code, result.output) == (1, expected), args


def test_a_sqlite_file_of_a_newer_reconciler_is_refused_on_opening(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    path = ws / ".reconciler" / "state.db"
    SqliteStateStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SQLITE_LATEST + 1}")
    expected = (
        f"error: the state store .reconciler/state.db is at schema version "
        f"{SQLITE_LATEST + 1}, newer than this reconciler knows ({SQLITE_LATEST}); "
        "upgrade reconciler\n"
    )
    for args in (("history",), ("apply", "--auto-approve"), ("state", "migrate")):
        result = invoke(ws, *args)
        assert (result.exit_code, result.output) == (1, expected), args
    with pytest.raises(StateError, match="newer than this reconciler knows"):
        SqliteStateStore(path)


# ------------------------------------------------------------------ unlock


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_unlock_names_the_run_and_commit_that_held_the_lease(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """Before, unlock showed owner, pid, host and since only: the CI run to check was dead
    (and its commit) were recorded but never shown."""
    import json
    import re

    import jsonschema

    ws = workspace(tmp_path, demo=("northwind-mitel",))
    if kind == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.new_database()
        monkeypatch.setenv(STATE_URL_ENV, url)
        monkeypatch.setenv("PGPASSWORD", PASSWORD)
        opened = PostgresStateStore(url, password=PASSWORD)
    else:
        opened = SqliteStateStore(ws / ".reconciler" / "state.db")  # type: ignore[assignment]
    for name, value in (("GITHUB_SERVER_URL", "https://github.com"),
                        ("GITHUB_REPOSITORY", "msp/phones"), ("GITHUB_RUN_ID", "77"),
                        ("GITHUB_SHA", "0123456789abcdef0123")):
        monkeypatch.setenv(name, value)
    with opened as store:
        store.acquire(Scope("mitel-connect", "CC-104233"), "northwind", pid=4242, host="ci-7")
        store.acquire(Scope("call2teams", "C2T-1"), "other", pid=4242, host="ci-7")
    text = invoke(ws, "unlock", "northwind")
    assert text.exit_code == 0, text.output
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    assert re.fullmatch(
        rf"unlocked account northwind \(mitel-connect CC-104233; held by apply pid 4242 on "
        rf"host ci-7 since {stamp}, last heartbeat {stamp}, lease until {stamp}; run "
        r"https://github.com/msp/phones/actions/runs/77; commit 0123456789ab\)\n",
        text.output,
    ), text.output
    as_json = invoke(ws, "unlock", "other", "--format", "json")
    data = json.loads(as_json.stdout)
    schema = json.loads(
        (Path(__file__).parent.parent / "schemas" / "unlock.schema.json").read_text()
    )
    jsonschema.validate(data, schema)
    (lock,) = data["unlocked"]
    assert (lock["run_url"], lock["git_commit"]) == (
        "https://github.com/msp/phones/actions/runs/77", "0123456789abcdef0123")
    assert lock["expires"] > lock["heartbeat"] >= lock["since"].rstrip("Z")


# ------------------------------------------------------ the same host name twice


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_dead_looking_pid_under_our_host_name_on_another_machine_is_not_taken_over(
    tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    """Two containers or VMs given one host name: the other's holder pid does not exist
    here, which proved nothing, yet its live lease was taken over at once (two writers).
    Now only a lease taken in this host's pid namespace (its token says so) is checked by
    pid; another's waits for its lease to expire."""
    import os
    import socket
    import subprocess
    import sys

    from reconciler.hostid import host_id
    from reconciler.state import LockInfo

    def opener(**kw: object) -> PostgresStateStore | SqliteStateStore:
        if kind == "sqlite":
            return SqliteStateStore(tmp_path / "state.db", **kw)  # type: ignore[arg-type]
        server: PostgresServer = request.getfixturevalue("postgres_server")
        if not hasattr(opener, "url"):
            opener.url = server.new_database()  # type: ignore[attr-defined]
        return PostgresStateStore(opener.url, password=PASSWORD, **kw)  # type: ignore

    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout)
    elsewhere = opener()
    twin = LockInfo(NW, "northwind", "apply", dead, socket.gethostname(), "",
                    token="0123456789abcdef." + "ab" * 16)
    assert host_id() != "0123456789abcdef" and elsewhere._insert(twin) is not None
    held = f"pid {dead} on host {socket.gethostname()}"
    with opener() as here, pytest.raises(LockHeld, match=held):
        here.acquire(NW, "northwind")
    # a lease of this very namespace whose process is gone is still taken over at once
    elsewhere.unlock(NW, force=True)
    elsewhere.acquire(NW, "northwind", pid=dead)
    with opener() as here:
        assert here.acquire(NW, "northwind").pid == os.getpid()
    elsewhere.close()


# ------------------------------------------------------------ transaction pooler


def test_nothing_outlives_a_statement_on_the_session(postgres_server: PostgresServer) -> None:
    """Behind PgBouncer in transaction mode each transaction may get another server
    connection: a prepared statement, an advisory lock, a SET or a temporary table left on
    the session would be missing (or someone else's) on the next. After a run's worth of
    lease, intent and journal statements, each repeated past psycopg's default
    prepare threshold (5), the store's session holds none of them."""
    from reconciler.state import JournalEntry

    url = postgres_server.new_database()
    with PostgresStateStore(url, password=PASSWORD, lease_seconds=0.3) as store:
        for n in range(8):
            lock = store.acquire(NW, "northwind")
            key = store.intent_key(NW, f"step-{n}", f"k{n}", "run-1")
            store.check(NW)
            store.settle(key)
            store.record(JournalEntry(time=store.now(), account="northwind", step_id=f"s{n}",
                                      action="create_user", target=str(n), result="done",
                                      idempotency_key=key, actor="ci", run_id="run-1"))
            store.renew_all()
            store.history("northwind", 3)
            store.release(lock)
        store.migrate()  # its advisory lock is the transaction's, gone at COMMIT
        pid = store._conn.info.backend_pid
        session = store._conn.execute(
            "SELECT (SELECT count(*) FROM pg_prepared_statements),"
            " (SELECT count(*) FROM pg_locks WHERE pid = %s AND locktype = 'advisory'),"
            " (SELECT count(*) FROM pg_settings WHERE source = 'session'),"
            " (SELECT count(*) FROM pg_class WHERE relpersistence = 't')", (pid,)
        ).fetchone()
    assert session == (0, 0, 0, 0)


def test_state_migrate_from_several_processes_at_once_migrates_once(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    import os
    import subprocess
    import sys

    url = postgres_server.new_database()
    ws = workspace(tmp_path, demo=())
    env = {**os.environ, STATE_URL_ENV: url, "PGPASSWORD": PASSWORD}
    procs = [subprocess.Popen([sys.executable, "-m", "reconciler", "state", "migrate"],
                              cwd=ws, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outputs
    # one migrated; the others, having waited for it, say there was nothing to do
    migrated = f"state store {url}: schema migrated from version 0 to {PG_LATEST}\n"
    nothing = f"state store {url}: schema at version {PG_LATEST}, nothing to migrate\n"
    assert sorted(outputs) == sorted([migrated] + [nothing] * 3), outputs
    with psycopg.connect(url, password=PASSWORD) as db:
        versions = [v for (v,) in db.execute("SELECT version FROM reconciler_schema"
                                             " ORDER BY version")]
    assert versions == list(range(1, PG_LATEST + 1))
