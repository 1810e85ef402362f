from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.errors import LockHeld
from reconciler.runinfo import current_actor, git_commit
from reconciler.state import (
    JournalEntry,
    NotLocked,
    Scope,
    StateStore,
)

NW = Scope("mitel-connect", "400123")
CONTOSO = Scope("call2teams", "C2T-10042")
NOW = datetime(2026, 11, 22, 10, 1, 2, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(tmp_path / ".reconciler" / "state.db", now=lambda: NOW)


def entry(account: str, step: str, result: str = "done") -> JournalEntry:
    return JournalEntry(
        time="2026-11-22T10:01:02Z",
        account=account,
        step_id=step,
        action="create_user",
        target="201",
        result=result,
        actor="ci",
        run_id="r1",
    )


def test_lock_message_names_owner_pid_host_time_and_the_way_out(store: StateStore) -> None:
    store.acquire(NW, "northwind", pid=4242, host="ci-7")
    with pytest.raises(LockHeld) as e:
        store.acquire(NW, "northwind")
    assert str(e.value) == (
        "account northwind (mitel-connect 400123) is locked by apply pid 4242 on host ci-7 since "
        "2026-11-22T10:01:02Z; if that run is dead, run: reconciler unlock northwind"
    )


def test_locks_are_per_account(store: StateStore) -> None:
    store.acquire(NW, "northwind")
    store.acquire(CONTOSO, "contoso")
    assert {store.holder(NW) is not None, store.holder(CONTOSO) is not None} == {True}


def test_release_frees_and_the_next_run_takes_it(store: StateStore) -> None:
    lock = store.acquire(NW, "northwind")
    store.release(lock)
    assert store.holder(NW) is None
    store.acquire(NW, "northwind")


def test_release_leaves_a_lock_someone_else_took_over(store: StateStore) -> None:
    old = store.acquire(NW, "northwind")
    store.unlock(NW, force=True)  # this very process holds it: alive
    new = store.acquire(NW, "northwind", pid=99999, host="other")
    store.release(old)
    assert store.holder(NW) == new


def test_unlock_breaks_a_lock_and_says_whose(store: StateStore) -> None:
    store.acquire(NW, "northwind", pid=4242, host="ci-7")
    held = store.unlock(NW)
    assert (held.pid, held.host) == (4242, "ci-7")
    assert store.holder(NW) is None


def test_unlock_refuses_a_lock_whose_holder_still_runs_here(store: StateStore) -> None:
    store.acquire(NW, "northwind")  # held by this test process: alive on this host
    with pytest.raises(LockHeld, match=r"^account northwind is locked by apply pid \d+, which "
                                       "is still running on this host; let it finish"):
        store.unlock(NW)
    assert store.holder(NW) is not None
    assert store.unlock(NW, force=True).pid == os.getpid()
    assert store.holder(NW) is None


def test_unlock_without_a_lock_is_an_error(store: StateStore) -> None:
    with pytest.raises(NotLocked, match="^mitel-connect 400123 is not locked$"):
        store.unlock(NW)


def test_lock_of_a_dead_process_on_this_host_is_taken_over(store: StateStore) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    store.acquire(NW, "northwind", pid=int(dead.stdout), host=socket.gethostname())
    mine = store.acquire(NW, "northwind")
    assert store.holder(NW) == mine


def test_lock_of_a_process_on_another_host_is_never_taken_over(store: StateStore) -> None:
    store.acquire(NW, "northwind", pid=1, host="elsewhere")
    with pytest.raises(LockHeld):
        store.acquire(NW, "northwind")


def test_a_live_process_keeps_its_lock(store: StateStore) -> None:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as alive:
        try:
            store.acquire(NW, "northwind", pid=alive.pid, host=socket.gethostname())
            with pytest.raises(LockHeld):
                store.acquire(NW, "northwind")
        finally:
            alive.kill()


def test_two_stores_racing_for_one_lock_give_it_to_exactly_one(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    StateStore(path).close()
    winners: list[str] = []
    losers: list[str] = []
    barrier = threading.Barrier(8)

    def contend(i: int) -> None:
        with StateStore(path) as s:
            barrier.wait()
            try:
                s.acquire(NW, "northwind", pid=10_000 + i, host="elsewhere")
                winners.append(str(i))
            except LockHeld as e:
                losers.append(str(e))

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and len(losers) == 7


def test_journal_keeps_order_and_filters_by_account(store: StateStore) -> None:
    store.record(entry("northwind", "s1"))
    store.record(entry("contoso", "s1", "failed"))
    store.record(entry("northwind", "s2", "skipped"))
    assert [(e.account, e.step_id, e.result) for e in store.history()] == [
        ("northwind", "s1", "done"),
        ("contoso", "s1", "failed"),
        ("northwind", "s2", "skipped"),
    ]
    assert [e.step_id for e in store.history("northwind")] == ["s1", "s2"]
    assert [e.step_id for e in store.history("northwind", limit=1)] == ["s2"]


def test_journal_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with StateStore(path) as s:
        s.record(entry("northwind", "s1"))
    with StateStore(path) as s:
        assert [e.step_id for e in s.history()] == ["s1"]


def test_git_commit_of_a_file_in_a_repo_and_outside(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.yaml").write_text("x: 1\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "a.yaml"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "a"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert git_commit(repo / "a.yaml") == head
    outside = tmp_path / "loose"
    outside.mkdir()
    assert git_commit(outside / "b.yaml") is None


def test_actor_is_the_github_actor_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    assert current_actor() == "octocat"
    monkeypatch.delenv("GITHUB_ACTOR")
    assert current_actor()  # the OS user
