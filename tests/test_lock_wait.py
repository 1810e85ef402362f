"""``apply --lock-timeout``: a run that waited for another run's lock plans the account
again under the lock. Applying files, it applies what is left of their changes (the other
run did the rest); applying a saved plan, it refuses the plan as stale. Two processes and
one state store (SQLite, and the real PostgreSQL server the tests start): this test holds
the lease and applies an older version of the file as "the other run" while a real
``reconciler apply`` process waits for it."""

from __future__ import annotations

import io
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from apply_helpers import REPO, invoke, workspace
from postgres_server import PASSWORD, PostgresServer

from reconciler.apply import Applier, ApplySettings
from reconciler.config import load_config
from reconciler.progress import PlainProgress
from reconciler.runinfo import RunInfo
from reconciler.sandbox.faults import FAULTS_ENV
from reconciler.session import Session
from reconciler.state import Scope, StateStore
from reconciler.stores import STATE_URL_ENV, open_store

CONTOSO = Scope("call2teams", "C2T-10042")
DEMO = (REPO / "accounts" / "contoso-c2t.yaml").read_text()
ANN = "{extension: 2001, name: Ann Avery,"
BEN = "{extension: 2002, name: Ben Brooks,"
#: the other run's version of the file: the demo changes and Ann renamed
OLDER = DEMO.replace(ANN, "{extension: 2001, name: Ann Avery-Shaw,")
#: the waiting run's: the same, and Ben renamed too
NEWER = OLDER.replace(BEN, "{extension: 2002, name: Ben Brooks-Lee,")


@pytest.fixture(params=["sqlite", "postgresql"])
def ws(request: pytest.FixtureRequest, tmp_path: Path,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in (FAULTS_ENV, STATE_URL_ENV, "PGPASSWORD", "RECONCILER_MITEL_ROLE"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        monkeypatch.setenv(STATE_URL_ENV, server.new_database())
        monkeypatch.setenv("PGPASSWORD", PASSWORD)
    space = workspace(tmp_path, demo=("contoso-c2t",))
    (space / "accounts" / "contoso-c2t.yaml").write_text(NEWER)
    (tmp_path / "older").mkdir()
    (tmp_path / "older" / "contoso-c2t.yaml").write_text(OLDER)
    yield space


def _store(ws: Path) -> StateStore:
    store = open_store(load_config(str(ws / "reconciler.yaml")))
    assert store is not None
    return store


class Waiter:
    """``reconciler apply ... --lock-timeout 60s`` as a real process; its output read as
    it comes, so the test knows when it waits for the lock."""

    def __init__(self, ws: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", *args, "--auto-approve",
             "--lock-timeout", "60s", "--wait-seconds", "0"],
            cwd=ws, env=dict(os.environ), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text: str) -> None:
        while True:  # bounded: each line within 60 s, and the process ends
            line = self.lines.get(timeout=60)
            assert line is not None, "".join(self.seen)
            self.seen.append(line)
            if text in line:
                return

    def finish(self) -> tuple[int, str]:
        code = self.proc.wait(timeout=120)
        while (line := self.lines.get(timeout=60)) is not None:
            self.seen.append(line)
        return code, "".join(self.seen)


def _the_other_run_applies_the_older_file(ws: Path, holder: StateStore) -> None:
    """What another run does while it holds the account: plan and apply its version."""
    config = load_config(str(ws / "reconciler.yaml"))
    with Session(config) as session:
        plan = session.plan([str(ws.parent / "older")], keep_desired=True)
        (account,) = plan.accounts
        applier = Applier(holder, PlainProgress(io.StringIO()),
                          settings=ApplySettings(wait_seconds=0), run=RunInfo.new())
        report = applier.apply_account(account, session.providers(account.platform),
                                       session.replan)
    assert report.count("done") == len(account.steps) > 1


def _contoso_users(ws: Path) -> dict[int, str]:
    config = load_config(str(ws / "reconciler.yaml"))
    with Session(config) as session:
        actual = session.read(*CONTOSO.__dict__.values())
    return {u.extension: u.name for u in actual.users}


def test_a_run_that_waited_applies_what_is_left_of_its_files(ws: Path) -> None:
    holder = _store(ws)
    lock = holder.acquire(CONTOSO, "contoso", owner="other-run")
    waiter = Waiter(ws, "accounts/contoso-c2t.yaml")
    waiter.wait_for("waiting up to 60s")  # it planned (before us) and waits for the lock
    _the_other_run_applies_the_older_file(ws, holder)
    other_steps = len(holder.history("contoso"))
    holder.release(lock)
    code, output = waiter.finish()
    holder.close()

    assert code == 0, output
    assert "planned again under its lock: 1 step left" in output
    assert "Result: converged (exit 0)" in output
    users = _contoso_users(ws)
    assert (users[2001], users[2002]) == ("Ann Avery-Shaw", "Ben Brooks-Lee")
    with _store(ws) as store:
        journal = store.history("contoso")
    # the waiting run sent one write, the rename the other run left; nothing twice
    theirs = journal[other_steps:]
    assert [(e.action, e.target, e.result) for e in theirs] == [
        ("update_user", "2002", "done")]
    assert len({e.run_id for e in journal}) == 2
    assert "No changes" in invoke(ws, "plan").output


def test_a_saved_plan_found_stale_after_waiting_is_refused(ws: Path) -> None:
    made = invoke(ws, "plan", "-o", "plans/plan.json")
    assert made.exit_code == 0, made.output
    holder = _store(ws)
    lock = holder.acquire(CONTOSO, "contoso", owner="other-run")
    waiter = Waiter(ws, "plans/plan.json")
    waiter.wait_for("waiting up to 60s")
    _the_other_run_applies_the_older_file(ws, holder)
    journaled = len(holder.history())
    holder.release(lock)
    code, output = waiter.finish()
    holder.close()

    assert code == 1, output
    assert "plan is stale: the platform changed since the plan was made (account contoso)" \
        in output
    assert "Traceback" not in output
    assert _contoso_users(ws)[2002] == "Ben Brooks"  # nothing written by the waiting run
    with _store(ws) as store:
        assert len(store.history()) == journaled


@pytest.mark.parametrize(("other", "runs"), [
    (OLDER, True),  # what is left was confirmed: Ben's rename
    (DEMO.replace(ANN, "{extension: 2001, name: Ann Elsewhere,"), False),  # Ann: not confirmed
])
def test_without_auto_approve_only_what_the_person_confirmed_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other: str, runs: bool
) -> None:
    from reconciler.cli.apply_cmd import _within
    from reconciler.review import PlanMismatch

    monkeypatch.delenv(FAULTS_ENV, raising=False)
    space = workspace(tmp_path, demo=("contoso-c2t",))
    (space / "accounts" / "contoso-c2t.yaml").write_text(NEWER)
    (tmp_path / "older").mkdir()
    (tmp_path / "older" / "contoso-c2t.yaml").write_text(other)
    config = load_config(str(space / "reconciler.yaml"))
    with Session(config) as session, _store(space) as store:
        shown = session.plan([str(space / "accounts")], keep_desired=True)  # confirmed
        _the_other_run_applies_the_older_file(space, store)
        applier = Applier(store, PlainProgress(io.StringIO()),
                          settings=ApplySettings(wait_seconds=0))
        if runs:
            report = applier.apply(shown, session.providers, replan=session.replan,
                                   remainder=_within)
            assert [r.step.target for r in report.accounts[0].results] == ["2002"]
        else:
            with pytest.raises(PlanMismatch, match="plan is stale"):
                applier.apply(shown, session.providers, replan=session.replan,
                              remainder=_within)
            assert _contoso_users(space)[2002] == "Ben Brooks"
