"""Accounts through a bounded pool (--parallelism N): the output is the same whatever N,
reads really run at once (bounded by the platform's max_concurrency), rate_limit spaces the
calls (measured on an injected clock), and the Applier and the state store are safe to use
from several threads."""

from __future__ import annotations

import io
import random
import re
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from apply_helpers import invoke, open_sandbox, workspace
from fakes.clock import Clock

from reconciler.apply import Applier, ApplySettings
from reconciler.config import Config, ProviderConfig
from reconciler.model import ActualAccount, ActualUser, Licence, Site
from reconciler.plan import AccountPlan, Cost, Plan, Step
from reconciler.pool import RateLimiter, ordered_map
from reconciler.progress import PlainProgress
from reconciler.provider import PROVIDER_KINDS, Provider, StepOutcome
from reconciler.session import Providers, Session
from reconciler.state import JournalEntry, StateStore

MITEL, IPECS, C2T = "mitel-connect", "ipecs-cloud", "call2teams"


# ------------------------------------------------------------------ same output whatever N


def _fleet(n: int) -> tuple[dict[str, str], list[ActualAccount]]:
    """``n`` accounts across the three platforms, each a few changes away from its file:
    renames everywhere, a Swap and a new user on Mitel, a new user on Call2Teams (no iPECS
    change order: order numbers are the platform's, given in the order orders arrive)."""
    files: dict[str, str] = {}
    live: list[ActualAccount] = []
    for a in range(n):
        platform = (MITEL, IPECS, C2T)[a % 3]
        ext_id = f"F{a:04d}"
        head = (f"account: fleet-{a:02d}\nplatform: {platform}\nexternal_id: {ext_id}\n"
                f"name: Fleet {a}\n")
        names = [f"User {a}-{i}" for i in range(3)]
        wanted = [f"Renamed {a}-0", *names[1:]]
        if platform == MITEL:
            profiles = ["essentials", "standard" if a % 2 else "essentials", "essentials"]
            body = "users:\n" + "".join(
                f"  - {{extension: {101 + i}, name: {wanted[i]}, profile: {profiles[i]}}}\n"
                for i in range(3)
            ) + f"  - {{extension: 104, name: New {a}, profile: telephony}}\n"
            users = tuple(ActualUser(101 + i, f"M{a}-{i}", names[i], "essentials")
                          for i in range(3))
            live.append(ActualAccount(MITEL, ext_id, f"Fleet {a}", users=users))
        elif platform == IPECS:
            body = 'sites:\n  Main: {extensions: "100-299"}\nusers:\n' + "".join(
                f"  - {{extension: {101 + i}, name: {wanted[i]}, "
                "profile: Basic User With VM}\n"
                for i in range(3)
            )
            users = tuple(ActualUser(101 + i, f"I{a}-{i}", names[i], "Basic User With VM",
                                     site="Main") for i in range(3))
            live.append(ActualAccount(IPECS, ext_id, f"Fleet {a}", users=users,
                                      licences=(Licence("Basic User With VM", 3),),
                                      sites=(Site("Main", 100, 299),)))
        else:
            body = "kind: client\nlicences: {C2TU25: 30}\nusers:\n" + "".join(
                f"  - {{extension: {101 + i}, name: {wanted[i]}, profile: pbx, "
                "licence: C2TU25}\n" for i in range(3)
            ) + f"  - {{extension: 104, name: New {a}, profile: pbx, licence: C2TU25}}\n"
            users = tuple(ActualUser(101 + i, f"C{a}-{i}", names[i], "pbx", licence="C2TU25")
                          for i in range(3))
            live.append(ActualAccount(C2T, ext_id, f"Fleet {a}", users=users,
                                      licences=(Licence("C2TU25", 30, date(2026, 10, 1)),)))
        files[f"fleet-{a:02d}.yaml"] = head + body
    return files, live


def _fleet_workspace(root: Path, n: int) -> Path:
    files, live = _fleet(n)
    ws = workspace(root, accounts=files)
    box = open_sandbox(ws)
    try:
        box.load_state(live)
    finally:
        box.close()
    return ws


def _run(ws: Path, *args: str) -> tuple[int, str]:
    result = invoke(ws, *args)
    # the JSON plan's created_at is the clock's, not the parallelism's: two runs that
    # straddle a second differ there (and so in the digest over it) and nowhere else
    out = re.sub(r'"created_at": "[^"]*"', '"created_at": "T"', result.output)
    return result.exit_code, re.sub(r'"digest": "sha256:[0-9a-f]*"', '"digest": "D"', out)


@pytest.mark.parametrize("fleet", [0, 30], ids=["demo", "fleet-of-30"])
def test_plan_drift_and_apply_print_the_same_whatever_the_parallelism(
    tmp_path: Path, fleet: int
) -> None:
    def world(name: str) -> Path:
        if fleet:
            return _fleet_workspace(tmp_path / name, fleet)
        return workspace(tmp_path / name)

    one, eight = world("one"), world("eight")
    for command in (["plan"], ["plan", "--format", "json"], ["drift"],
                    ["apply", "--auto-approve"], ["plan"]):
        first = _run(one, *command, "--parallelism", "1")
        second = _run(eight, *command, "--parallelism", "8")
        assert first == second, command
    if fleet:  # the fleet converged: the last plan has nothing left to do
        assert "No changes" in first[1] or "no changes" in first[1].lower()


# ------------------------------------------------------------------ concurrency is real


class BarrierProvider(Provider):
    """Every read waits at a barrier of ``parties``: reads that are not really concurrent
    time out. Counts the reads in flight."""

    def __init__(self, platform: str, parties: int) -> None:
        self.platform = platform
        self.barrier = threading.Barrier(parties, timeout=10)
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.performed: list[str] = []

    def read_account(self, external_id: str) -> ActualAccount:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self.barrier.wait()
        finally:
            with self._lock:
                self.in_flight -= 1
        return ActualAccount(self.platform, external_id, external_id)

    def perform(self, external_id: str, step: Step, idempotency_key: str) -> StepOutcome:
        with self._lock:
            self.performed.append(external_id)
        return StepOutcome("done", detail=f"{step.action} ok")


def _mitel_files(root: Path, n: int) -> list[str]:
    folder = root / "accounts"
    folder.mkdir(parents=True)
    for a in range(n):
        (folder / f"m{a}.yaml").write_text(
            f"account: m{a}\nplatform: {MITEL}\nexternal_id: X{a}\nname: X{a}\nusers: []\n")
    return [str(folder)]


def _register(monkeypatch: pytest.MonkeyPatch, provider: Provider) -> None:
    def factory(platform: str, config: Config) -> Provider:
        return provider

    monkeypatch.setitem(PROVIDER_KINDS, "fake", factory)


def test_reads_run_at_once_up_to_the_platforms_max_concurrency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = BarrierProvider(MITEL, parties=3)
    _register(monkeypatch, provider)
    config = Config(root=tmp_path, providers={
        MITEL: ProviderConfig(kind="fake", max_concurrency=3)})
    with Session(config, parallelism=8) as session:
        plan = session.plan(_mitel_files(tmp_path, 9))
    # three at a time met at the barrier (sequential reads would time out), never more
    assert provider.max_in_flight == 3
    assert [a.account for a in plan.accounts] == [f"m{a}" for a in range(9)]


def test_apply_reads_every_account_at_once_before_writing(tmp_path: Path) -> None:
    """The staleness pre-read goes through the pool; progress and report keep plan order."""
    provider = BarrierProvider(IPECS, parties=4)
    plans = []
    for a in range(4):
        actual = ActualAccount(IPECS, f"C{a}", f"C{a}")
        step = Step("s1", "update_user", user=100 + a, after={"name": f"N{a}"})
        zero = Cost(*(0,) * 3)  # type: ignore[arg-type]
        plans.append(AccountPlan(f"acct-{a}", IPECS, f"C{a}", actual.fingerprint(), (step,),
                                 zero))

    def apply(parallelism: int) -> str:
        out = io.StringIO()
        clock = Clock()
        with StateStore(tmp_path / f"state-{parallelism}.db") as store:
            applier = Applier(store, PlainProgress(out),
                              settings=ApplySettings(parallelism=parallelism),
                              sleep=clock.sleep, clock=clock, rng=random.Random(1))
            report = applier.apply(Plan(tuple(plans)), lambda platform: provider)
        assert [a.account for a in report.accounts] == [p.account for p in plans]
        return out.getvalue()

    text = apply(4)  # with fewer than 4 reads at once the barrier would time out
    assert provider.max_in_flight == 4
    assert sorted(provider.performed) == ["C0", "C1", "C2", "C3"]
    assert text.splitlines() == [
        line for a in range(4)
        for line in (f"acct-{a}: applying 1 step",
                     f"acct-{a}: s1 update_user user {100 + a}: done: update_user ok")
    ]


# ------------------------------------------------------------------ rate_limit


def test_rate_limit_spaces_the_calls_to_a_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    seen: list[float] = []

    class Timed(BarrierProvider):
        def read_account(self, external_id: str) -> ActualAccount:
            seen.append(clock())
            return ActualAccount(self.platform, external_id, external_id)

    _register(monkeypatch, Timed(MITEL, parties=1))
    config = Config(root=tmp_path, providers={
        MITEL: ProviderConfig(kind="fake", max_concurrency=1, rate_limit=4)})
    providers = Providers(config, clock=clock, sleep=clock.sleep)
    with Session(config, parallelism=8, providers=providers) as session:
        session.plan(_mitel_files(tmp_path, 9))
    # 4 calls a second: one every 0.25 s on the platform's clock, none early, none late
    assert seen == [i * 0.25 for i in range(9)]


def test_the_rate_limiter_gives_each_thread_its_own_slot() -> None:
    wakes: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:  # the clock stands still: slots come from the limiter
        with lock:
            wakes.append(seconds)

    limiter = RateLimiter(2.0, clock=lambda: 0.0, sleep=sleep)
    threads = [threading.Thread(target=lambda: [limiter.wait() for _ in range(5)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    # 20 calls at 2 a second: the first at once, then one per 0.5 s slot, no slot shared
    assert sorted(wakes) == [i * 0.5 for i in range(1, 20)]


# ------------------------------------------------------------------ the pool itself


def test_ordered_map_keeps_input_order_and_raises_the_first_failure_in_order() -> None:
    started: list[int] = []
    gate = threading.Event()

    def work(i: int) -> int:
        started.append(i)
        if i == 0:
            assert gate.wait(10)  # the first finishes last
        if i == 5:
            raise ValueError("five")
        return i * i

    results: list[int] = []
    gen = ordered_map(work, range(20), 4)
    gate.set()
    with pytest.raises(ValueError, match="five"):
        for r in gen:
            results.append(r)
    assert results == [0, 1, 4, 9, 16]
    assert max(started) < 20 and len(started) <= 5 + 4  # bounded look-ahead


def test_a_slow_first_item_does_not_stop_the_other_workers() -> None:
    """Head-of-line: while the first account is slow, the other worker goes on with the
    next ones (within the window); the output still comes in input order."""
    finished: list[int] = []
    three_done = threading.Event()
    lock = threading.Lock()

    def work(i: int) -> int:
        if i == 0:
            # items 1, 2 and 3 finish on the one other worker while this one is busy
            assert three_done.wait(10), f"only {sorted(finished)} finished meanwhile"
        with lock:
            finished.append(i)
            if {1, 2, 3} <= set(finished):
                three_done.set()
        return i * 10

    assert list(ordered_map(work, range(8), 2)) == [i * 10 for i in range(8)]
    assert finished[:3] == sorted(finished[:3]) and set(finished[:3]) == {1, 2, 3}


def test_workers_run_ahead_only_within_the_window() -> None:
    """At most 2 x parallelism items are started or held ahead of the one awaited, and the
    input is consumed no further (the account stream stays lazy)."""
    pulled: list[int] = []
    others_done = threading.Event()
    seen_while_blocked: list[int] = []
    lock = threading.Lock()
    done: set[int] = set()

    def source() -> Iterator[int]:
        for i in range(20):
            pulled.append(i)
            yield i

    def work(i: int) -> int:
        if i == 0:
            assert others_done.wait(10)
            # the caller is blocked on item 0: nothing more can be pulled or started
            seen_while_blocked.extend(pulled)
        with lock:
            done.add(i)
            if {1, 2, 3, 4, 5} <= done:
                others_done.set()
        return i

    assert list(ordered_map(work, source(), 3)) == list(range(20))
    assert seen_while_blocked == list(range(6))  # window 6 = 2 x 3


def test_ordered_map_stops_at_the_first_failure_in_input_order() -> None:
    started: list[int] = []
    gate = threading.Event()
    lock = threading.Lock()

    def work(i: int) -> int:
        with lock:
            started.append(i)
        if i == 0:
            assert gate.wait(10)  # the first finishes last
        if i == 2:
            gate.set()
            raise ValueError("two")
        if i == 3:
            raise KeyError("three: later in input order than two")
        return i

    results: list[int] = []
    with pytest.raises(ValueError, match="two"):
        for r in ordered_map(work, range(50), 2):
            results.append(r)
    assert results == [0, 1]
    assert max(started) < 2 + 4  # nothing beyond the window was ever started


def test_parallelism_one_runs_in_the_callers_thread() -> None:
    me = threading.get_ident()
    assert list(ordered_map(lambda i: (i, threading.get_ident() == me), range(3), 1)) == [
        (0, True), (1, True), (2, True)]


def test_the_state_store_journals_from_many_threads(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state.db") as store:

        def write(t: int) -> Callable[[], None]:
            def run() -> None:
                for i in range(20):
                    store.record(JournalEntry(store.now(), f"a{t}", f"s{i}", "update_user",
                                              "1", "done"))
            return run

        threads = [threading.Thread(target=write(t)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        entries = store.history()
    assert len(entries) == 160
    for t in range(8):
        assert [e.step_id for e in entries if e.account == f"a{t}"] == [
            f"s{i}" for i in range(20)]


@pytest.mark.parametrize("faults", [None, "seed=1"], ids=["plain", "faults-injected"])
def test_the_embedded_sandbox_is_planned_in_the_callers_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, faults: str | None
) -> None:
    """Its reads are this process's CPU under the GIL: threads would only add switching.
    With injected faults (latency) the accounts go through the pool as asked."""
    from reconciler.config import load_config
    from reconciler.sandbox.faults import FAULTS_ENV

    if faults is None:
        monkeypatch.delenv(FAULTS_ENV, raising=False)
    else:
        monkeypatch.setenv(FAULTS_ENV, faults)
    ws = workspace(tmp_path)
    monkeypatch.chdir(ws)
    threads: set[str] = set()
    with Session(load_config(None), parallelism=8) as session:
        made = list(session.plans(["accounts"], observe=lambda *a: threads.add(
            threading.current_thread().name)))
    assert len(made) > 1
    if faults is None:
        assert threads == {threading.current_thread().name}
    else:
        assert threading.current_thread().name not in threads
