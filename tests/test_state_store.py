"""One suite for both state stores: the embedded SQLite file and a real PostgreSQL server
started by the tests (tests/postgres_server.py). Whatever the backend, a lease has exactly
one holder, a dead or silent holder's lease comes free, a waiting run gets it, and the
journal keeps every run's steps in order and never changes them."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from postgres_server import PASSWORD, PostgresServer

from reconciler.errors import LockHeld
from reconciler.state import JournalEntry, LockLost, NotLocked, Scope, StateError, StateStore
from reconciler.stores.postgres import PostgresStateStore
from reconciler.stores.sqlite import SqliteStateStore

Opener = Callable[..., StateStore]
NW = Scope("mitel-connect", "400123")
CONTOSO = Scope("call2teams", "C2T-10042")
VD = Scope("ipecs-cloud", "C000000150")


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens stores on one shared database (several may be open at once, like runners)."""
    opened: list[StateStore] = []
    if request.param == "sqlite":
        path = tmp_path / "state.db"

        def make(**kw: Any) -> StateStore:
            opened.append(SqliteStateStore(path, **kw))
            return opened[-1]
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.new_database()

        def make(**kw: Any) -> StateStore:
            opened.append(PostgresStateStore(url, password=PASSWORD, **kw))
            return opened[-1]

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(opener: Opener) -> StateStore:
    return opener()


def entry(account: str, step: str, result: str = "done", run: str = "r1") -> JournalEntry:
    return JournalEntry(
        time="2026-11-22T10:01:02Z", account=account, step_id=step, action="create_user",
        target="201", result=result, actor="ci", run_id=run,
    )


def _dead_pid() -> int:
    out = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout)


# ------------------------------------------------------------------------ leases


def test_lock_message_names_holder_run_and_the_way_out(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "msp/phones")
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    monkeypatch.setenv("GITHUB_SHA", "abc123")
    held = store.acquire(VD, "vertical-demo", pid=4242, host="ci-7")
    assert (held.run_url, held.git_commit) == ("https://github.com/msp/phones/actions/runs/77",
                                               "abc123")
    with pytest.raises(LockHeld) as e:
        store.acquire(VD, "vertical-demo")
    assert re.fullmatch(
        r"account vertical-demo \(ipecs-cloud C000000150\) is locked by apply pid 4242 on host"
        r" ci-7 since "
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(run https://github.com/msp/phones/actions/runs/77\);"
        r" if that run is dead, run: reconciler unlock vertical-demo",
        str(e.value),
    ), str(e.value)


def test_leases_are_per_account_and_release_frees(store: StateStore) -> None:
    a = store.acquire(NW, "northwind")
    store.acquire(CONTOSO, "contoso")
    store.release(a)
    assert store.holder(NW) is None and store.holder(CONTOSO) is not None
    assert store.acquire(NW, "northwind").account == "northwind"


def test_release_leaves_a_lease_someone_else_took_over(opener: Opener) -> None:
    mine, other = opener(), opener()
    old = mine.acquire(NW, "northwind")
    other.unlock(NW, force=True)
    new = other.acquire(NW, "northwind", pid=99999, host="other")
    mine.release(old)
    assert other.holder(NW) == new


def test_unlock_breaks_a_lease_and_says_whose(store: StateStore) -> None:
    store.acquire(NW, "northwind", pid=4242, host="ci-7")
    held = store.unlock(NW)
    assert (held.pid, held.host) == (4242, "ci-7")
    assert store.holder(NW) is None
    with pytest.raises(NotLocked, match="^mitel-connect 400123 is not locked$"):
        store.unlock(NW)


def test_unlock_refuses_a_holder_still_running_here(store: StateStore) -> None:
    store.acquire(NW, "northwind")
    with pytest.raises(LockHeld, match=r"^account northwind is locked by apply pid \d+, which "
                                       "is still running on this host; let it finish"):
        store.unlock(NW)
    assert store.unlock(NW, force=True).pid == os.getpid()


def test_lease_of_a_dead_process_on_this_host_is_taken_over(store: StateStore) -> None:
    store.acquire(NW, "northwind", pid=_dead_pid(), host=socket.gethostname())
    mine = store.acquire(NW, "northwind")
    assert store.holder(NW) == mine


def test_a_live_holder_on_another_host_keeps_its_lease(opener: Opener) -> None:
    opener().acquire(NW, "northwind", pid=1, host="elsewhere")
    with pytest.raises(LockHeld, match="on host elsewhere"):
        opener().acquire(NW, "northwind")


def test_an_expired_lease_is_reclaimed_by_a_waiting_run(opener: Opener) -> None:
    # a runner that died on another host: nobody renews its short lease
    opener(lease_seconds=0.5).acquire(NW, "northwind", pid=1, host="gone-runner")
    waiting = opener(lock_timeout=10)
    got = waiting.acquire(NW, "northwind", host="ci-8")
    assert (got.host, waiting.lock_waits) == ("ci-8", 1)


def test_a_running_apply_keeps_renewing_its_lease(opener: Opener) -> None:
    holder = opener(lease_seconds=0.6)
    lock = holder.acquire(NW, "northwind")  # held by this process: the heartbeat renews it
    time.sleep(1.5)  # two and a half leases without the heartbeat would have expired it
    with pytest.raises(LockHeld):
        opener().acquire(NW, "northwind", host="ci-9")
    # still ours: the same lease in the store (not holder.check, whose margin of one
    # heartbeat, 0.2 s here, a busy 2-core runner can stall the heartbeat thread past)
    assert opener().holder(NW).token == lock.token  # type: ignore[union-attr]
    holder.release(lock)
    assert opener().acquire(NW, "northwind", host="ci-9").host == "ci-9"


def test_lock_timeout_waits_for_the_holder_to_finish(opener: Opener) -> None:
    holder = opener()
    lock = holder.acquire(NW, "northwind", pid=1, host="ci-7")
    threading.Timer(0.4, holder.release, args=(lock,)).start()
    got = opener(lock_timeout=10).acquire(NW, "northwind", host="ci-8")
    assert got.host == "ci-8"


def test_lock_timeout_gives_up_with_the_holder_named(opener: Opener) -> None:
    opener().acquire(NW, "northwind", pid=1, host="ci-7")
    start = time.monotonic()
    with pytest.raises(LockHeld, match=r"on host ci-7 .*\(waited 0.3s\)$"):
        opener(lock_timeout=0.3).acquire(NW, "northwind")
    assert time.monotonic() - start >= 0.3


def test_a_lease_reclaimed_under_a_stalled_holder_is_reported_lost(opener: Opener) -> None:
    holder = opener(lease_seconds=0.3)
    holder.acquire(NW, "northwind")
    opener().unlock(NW, force=True)  # as if it expired while the runner stalled
    opener().acquire(NW, "northwind", pid=1, host="ci-8")
    deadline = time.monotonic() + 5
    while NW not in holder._lost and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(LockLost, match="^lost the lock of mitel-connect 400123"):
        holder.check(NW)
    assert opener().holder(NW).host == "ci-8"  # type: ignore[union-attr]


def test_runners_racing_for_one_lease_give_it_to_exactly_one(opener: Opener) -> None:
    stores = [opener() for _ in range(8)]
    winners: list[int] = []
    losers: list[str] = []
    barrier = threading.Barrier(8)

    def contend(i: int) -> None:
        barrier.wait()
        try:
            stores[i].acquire(NW, "northwind", pid=10_000 + i, host="elsewhere")
            winners.append(i)
        except LockHeld as e:
            losers.append(str(e))

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and len(losers) == 7


# ----------------------------------------------------------------------- journal


def test_history_reads_every_runners_steps_in_order(opener: Opener) -> None:
    runner_a, runner_b = opener(), opener()
    runner_a.record(entry("northwind", "s1", run="a"))
    runner_b.record(entry("contoso", "s1", "failed", run="b"))
    runner_a.record(entry("northwind", "s2", "skipped", run="a"))
    laptop = opener()
    assert [(e.account, e.step_id, e.result, e.run_id) for e in laptop.history()] == [
        ("northwind", "s1", "done", "a"),
        ("contoso", "s1", "failed", "b"),
        ("northwind", "s2", "skipped", "a"),
    ]
    assert [e.step_id for e in laptop.history("northwind")] == ["s1", "s2"]
    assert [e.step_id for e in laptop.history("northwind", limit=1)] == ["s2"]


def test_the_journal_is_append_only(store: StateStore) -> None:
    store.record(entry("northwind", "s1"))
    table = "journal" if store.kind == "sqlite" else "reconciler_journal"
    for sql in (f"UPDATE {table} SET result = 'done'", f"DELETE FROM {table}"):
        with pytest.raises(StateError, match="the journal is append-only"):
            store._execute(sql)  # type: ignore[attr-defined]
    assert [e.step_id for e in store.history()] == ["s1"]


def test_schema_is_versioned_and_migrated_once(opener: Opener) -> None:
    first = opener()
    assert (first.opened_at_version, first.schema_version()) == (0, first.schema_version())
    latest = first.schema_version()
    assert latest >= 1
    again = opener()
    assert again.opened_at_version == latest
    assert again.migrate() == (latest, latest)


def test_first_use_by_many_runners_at_once_migrates_once(opener: Opener) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def first_use() -> None:
        barrier.wait()
        try:
            opener().record(entry("northwind", "s1"))
        except BaseException as e:  # noqa: BLE001 - collected for the assert
            errors.append(e)

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(opener().history()) == 6
