"""The shared PostgreSQL state store end to end, against a real server the tests start:
configuration and secrets, ``state migrate``, ``history`` across runners, and several
apply processes on overlapping accounts with faults through one database and one served
sandbox (``reconciler sandbox serve``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from apply_helpers import invoke, open_sandbox, workspace, world
from postgres_server import PASSWORD, PostgresServer
from served import CLIENT_TOKEN_ENV, TOKEN, point_at, served, server_config

from reconciler.sandbox.faults import FAULTS_ENV
from reconciler.stores import STATE_URL_ENV
from reconciler.stores.postgres import PostgresStateStore


@pytest.fixture
def db_url(postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in (FAULTS_ENV, STATE_URL_ENV, "PGPASSWORD", "RECONCILER_MITEL_ROLE"):
        monkeypatch.delenv(name, raising=False)
    return postgres_server.new_database()


def _pg_workspace(tmp_path: Path, url: str, **kw: object) -> Path:
    ws = workspace(tmp_path, **kw)  # type: ignore[arg-type]
    (ws / "reconciler.yaml").write_text(
        "sandbox: {path: .reconciler/sandbox.db}\n"
        f"state: {{url: '{url}', password_env: STATE_DB_PASSWORD}}\n"
    )
    return ws


def test_apply_and_history_go_through_the_shared_database(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATE_DB_PASSWORD", PASSWORD)
    ws = _pg_workspace(tmp_path, db_url, demo=("northwind-mitel",))
    result = invoke(ws, "apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert not (ws / ".reconciler" / "state.db").exists()
    # another runner (another checkout, same database) sees the run
    elsewhere = _pg_workspace(tmp_path / "laptop", db_url, demo=())
    history = invoke(elsewhere, "history", "--account", "northwind")
    assert history.exit_code == 0
    done = [line for line in history.output.splitlines() if "  done  " in line]
    assert len(done) == result.output.count(": done") > 0


def test_the_password_comes_from_the_environment_and_is_never_printed(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _pg_workspace(tmp_path, db_url, demo=())
    missing = invoke(ws, "history")
    assert missing.exit_code == 1
    assert missing.output.strip() == (
        "reconciler.yaml: state.password_env names the environment variable "
        "STATE_DB_PASSWORD, which is not set"
    )
    monkeypatch.setenv("STATE_DB_PASSWORD", "wrong-" + PASSWORD)
    wrong = invoke(ws, "history")
    assert wrong.exit_code == 1
    lines = wrong.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"error: cannot open the state store {db_url}: "
    ), wrong.output
    assert "password authentication failed" in lines[0]
    assert PASSWORD not in wrong.output and "Traceback" not in wrong.output


def test_a_password_inside_the_url_in_reconciler_yaml_is_refused(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=())
    (ws / "reconciler.yaml").write_text(
        "state:\n  url: postgresql://rec:hunter2@db.example/rec\n"
    )
    result = invoke(ws, "history")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "reconciler.yaml:2:8: state.url must not contain a password: put it in an "
        "environment variable and name that variable in state.password_env"
    )
    assert "hunter2" not in result.output


def test_state_url_from_the_environment_and_state_migrate(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace(tmp_path, demo=())
    monkeypatch.setenv(STATE_URL_ENV, db_url)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)  # libpq's own variable
    first = invoke(ws, "state", "migrate")
    assert first.exit_code == 0, first.output
    assert first.output == f"state store {db_url}: schema migrated from version 0 to 3\n"
    again = invoke(ws, "state", "migrate")
    assert again.output == f"state store {db_url}: schema at version 3, nothing to migrate\n"


def test_state_migrate_on_sqlite_upgrades_an_old_file(tmp_path: Path) -> None:
    import sqlite3

    ws = workspace(tmp_path, demo=())
    old = ws / ".reconciler" / "state.db"
    old.parent.mkdir()
    with sqlite3.connect(old) as db:  # the schema before leases (no user_version)
        db.executescript(
            "CREATE TABLE account_locks (platform TEXT NOT NULL, external_id TEXT NOT NULL,"
            " account TEXT NOT NULL, owner TEXT NOT NULL, pid INTEGER NOT NULL,"
            " host TEXT NOT NULL, since TEXT NOT NULL, token TEXT NOT NULL,"
            " PRIMARY KEY (platform, external_id));"
            "INSERT INTO account_locks VALUES ('mitel-connect', 'CC-104233', 'northwind',"
            " 'apply', 1, 'ci-7', '2026-11-22T10:01:02Z', 't');"
        )
    result = invoke(ws, "state", "migrate")
    assert result.output == (
        "state store .reconciler/state.db: schema migrated from version 0 to 4\n"
    )
    unlocked = invoke(ws, "unlock", "northwind")
    assert unlocked.output == (
        "unlocked account northwind (mitel-connect CC-104233; held by apply pid 1 on host "
        "ci-7 since 2026-11-22T10:01:02Z)\n"
    )


# ------------------------------------------------------------------- concurrency

#: demo account files
ACCOUNTS = ("contoso-c2t", "northwind-mitel", "partner-internal", "vertical-demo")
PROCESSES = 4
MAX_RUNS = 12


def _apply_process(ws: Path, files: list[str], url: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in (FAULTS_ENV, "RECONCILER_MITEL_ROLE")}
    env.update({STATE_URL_ENV: url, "PGPASSWORD": PASSWORD, CLIENT_TOKEN_ENV: TOKEN})
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", *files, "--auto-approve",
         "--lock-timeout", "60s", "--wait-seconds", "0"],
        cwd=ws, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_processes_applying_overlapping_accounts_with_faults(
    tmp_path: Path, db_url: str
) -> None:
    clean_ws = workspace(tmp_path / "clean")
    clean = invoke(clean_ws, "apply", "--auto-approve")
    assert clean.exit_code == 3, clean.output
    box = open_sandbox(clean_ws)
    expected = world(box)
    box.close()
    writes = clean.output.count(": done")

    ws = workspace(tmp_path / "fleet")
    # each process applies two neighbouring accounts: every account is wanted by two
    shares = [[f"accounts/{ACCOUNTS[i]}.yaml", f"accounts/{ACCOUNTS[(i + 1) % 4]}.yaml"]
              for i in range(PROCESSES)]
    exits: dict[int, list[int]] = defaultdict(list)
    logs: list[str] = []
    # one served sandbox for every process, failing on purpose: transient errors, writes
    # whose answer is lost (in the sandbox, and dropped by the server after the commit),
    # 429 and 503 answers
    faults = ("transient=0.15,lost_response=0.1,drop_after_commit=0.1,http429=0.05,"
              "http503=0.05,seed=11")
    with served(server_config(ws), faults=faults) as server:
        point_at(ws, server)
        running: dict[int, subprocess.Popen[str]] = {}
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            for i in range(PROCESSES):
                finished = exits[i] and exits[i][-1] in (0, 3)
                if i in running or finished or len(exits[i]) >= MAX_RUNS:
                    continue
                running[i] = _apply_process(ws, shares[i], db_url)
            if not running:
                break
            for i, proc in list(running.items()):
                if proc.poll() is not None:
                    logs.append(proc.stdout.read() if proc.stdout else "")
                    exits[i].append(proc.returncode)
                    del running[i]
            time.sleep(0.05)
        for proc in running.values():
            proc.kill()
    assert all(runs and runs[-1] in (0, 3) for runs in exits.values()), (exits, logs[-4:])

    box = open_sandbox(ws)
    try:
        assert world(box) == expected  # no order, user or charge twice; no user lost
    finally:
        box.close()

    with PostgresStateStore(db_url, password=PASSWORD) as store:
        journal = store.history()
        assert store.holders() == []  # every run let go of its leases
    by_account: dict[str, list[str]] = defaultdict(list)
    done_keys: dict[str, list[str]] = defaultdict(list)
    for e in journal:
        by_account[e.account].append(e.run_id)
        if e.result == "done":
            done_keys[e.account].append(e.idempotency_key)
    for account, runs in by_account.items():
        # one writer at a time: a run's entries for an account are never interleaved
        # with another run's
        seen: list[str] = []
        for run in runs:
            if not seen or seen[-1] != run:
                assert run not in seen, f"{account}: two runs interleaved: {runs}"
                seen.append(run)
        # every platform write in the journal once
        assert len(done_keys[account]) == len(set(done_keys[account])), account
    # every platform write journaled once
    assert sum(len(k) for k in done_keys.values()) == writes
