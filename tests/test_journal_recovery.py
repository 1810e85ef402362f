"""A run killed between a platform write and its journal line leaves the journal one line
short (the platform is right: the write happened). The next run of that account finds the
write's intent without a journal line and journals it, "found done at recovery", under the
run that sent it: ``history`` shows every write once. A real process crashes after its nth
write (the sandbox's ``crash_after``), on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from apply_helpers import TIER_MOVE_YAML, invoke, open_sandbox, subprocess_apply, workspace
from apply_helpers import tier_move_actual as tier_move
from postgres_server import PASSWORD, PostgresServer

from reconciler.config import load_config
from reconciler.sandbox.faults import CRASH_STATUS, FAULTS_ENV
from reconciler.state import JournalEntry, Scope, StateStore
from reconciler.stores import STATE_URL_ENV, open_store

#: the first write (an iPECS order), one in the middle, the last (11 in all)
CRASH_POINTS = (1, 6, 11)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in (FAULTS_ENV, STATE_URL_ENV, "PGPASSWORD", "RECONCILER_MITEL_ROLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)  # retries never really wait
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        monkeypatch.setenv(STATE_URL_ENV, server.new_database())  # the subprocess's too
        monkeypatch.setenv("PGPASSWORD", PASSWORD)
    return str(request.param)


def _workspace(tmp_path: Path) -> Path:
    ws = workspace(tmp_path, demo=("vertical-demo",), accounts={"tiermove.yaml": TIER_MOVE_YAML})
    box = open_sandbox(ws)
    box.load_state([tier_move()])
    box.close()
    return ws


def _open(ws: Path) -> StateStore:
    store = open_store(load_config(str(ws / "reconciler.yaml")))
    assert store is not None
    return store


def _journal(ws: Path) -> list[JournalEntry]:
    with _open(ws) as store:
        return store.history()


def _writes(journal: list[JournalEntry]) -> list[tuple[str, str, str]]:
    """What was written, whatever the step's id in the plan of the run that wrote it."""
    return sorted((e.account, e.action, e.target) for e in journal if e.result == "done")


@pytest.fixture
def clean(backend: str, tmp_path: Path) -> list[tuple[str, str, str]]:
    """The writes a run without a crash journals."""
    ws = _workspace(tmp_path / "clean")
    result = invoke(ws, "apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    writes = _writes(_journal(ws))
    assert len(writes) == 11
    return writes


@pytest.mark.parametrize("n", CRASH_POINTS)
def test_a_write_whose_journal_line_died_with_its_run_is_journaled_once_at_recovery(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int,
    clean: list[tuple[str, str, str]], request: pytest.FixtureRequest,
) -> None:
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        monkeypatch.setenv(STATE_URL_ENV, server.new_database())
    ws = _workspace(tmp_path / "crash")
    crashed = subprocess_apply(ws, "--auto-approve", "--parallelism", "1",
                               faults=f"crash_after={n}")
    assert crashed.returncode == CRASH_STATUS, (crashed.stdout, crashed.stderr)
    before = _journal(ws)
    assert len(before) == n - 1  # the nth write happened; its line died with the process

    resumed = invoke(ws, "apply", "--auto-approve")
    assert resumed.exit_code == 0, resumed.output
    journal = _journal(ws)
    assert journal[: n - 1] == before  # append-only
    # every write once: the same writes as a run that never crashed, no key twice
    assert _writes(journal) == clean
    keys = [e.idempotency_key for e in journal]
    assert len(keys) == len(set(keys))
    (recovered,) = [e for e in journal if "at recovery" in e.detail]
    resumed_runs = {e.run_id for e in journal[n - 1:] if e is not recovered}
    assert len(resumed_runs) <= 1
    crashed_run = before[0].run_id if before else recovered.run_id
    # journaled under the run that sent it, saying which run found it done
    assert recovered.run_id == crashed_run and recovered.run_id not in resumed_runs
    assert recovered.result == "done"
    assert recovered.detail.startswith("found done at recovery by run ")
    assert recovered.detail.endswith(f"run {crashed_run} stopped before journaling the "
                                     "platform's answer")
    shown = invoke(ws, "history").output
    assert shown.count("found done at recovery") == 1

    again = invoke(ws, "apply", "--auto-approve")  # nothing more to recover or to write
    assert again.exit_code == 0, again.output
    assert _journal(ws) == journal


def test_an_account_with_nothing_to_do_is_recovered_only_when_nobody_holds_it(
    backend: str, tmp_path: Path
) -> None:
    ws = _workspace(tmp_path / "ws")
    assert invoke(ws, "apply", "--auto-approve").exit_code == 0
    tiermove = Scope("call2teams", "C2T-20077")
    with _open(ws) as store:  # a write of run r-dead that never got its journal line
        store.intent_key(tiermove, "0" * 32, "key-of-r-dead", "r-dead", about=JournalEntry(
            time="", account="tiermove", step_id="s9", action="update_user", target="3001",
            result="", actor="ci", run_id="r-dead"))
        journaled = len(store.history())
        other = _open(ws)
        lock = other.acquire(tiermove, "tiermove", pid=1, host="ci-7")  # a live run elsewhere
        # nothing to do, and held: not waited for, not recovered, not a failure
        held = invoke(ws, "apply", "--auto-approve")
        assert held.exit_code == 0, held.output
        assert len(store.history()) == journaled
        other.release(lock)
        other.close()
        free = invoke(ws, "apply", "--auto-approve")
        assert free.exit_code == 0, free.output
        (recovered,) = store.history()[journaled:]
    assert (recovered.account, recovered.step_id, recovered.action, recovered.target,
            recovered.result, recovered.run_id, recovered.idempotency_key) == (
        "tiermove", "s9", "update_user", "3001", "done", "r-dead", "key-of-r-dead")
    assert recovered.detail.startswith("found done at recovery by run ")
