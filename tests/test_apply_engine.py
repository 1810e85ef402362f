"""The apply engine against a scripted fake provider: ordering, skips, retries, approvals,
manual steps, staleness, locks and the journal. No platform rules here (see
test_apply_sandbox.py for those)."""

from __future__ import annotations

import io
import random
from dataclasses import replace
from pathlib import Path

import pytest
from fakes.apply_provider import FakeProvider, Script, account, account_plan
from fakes.clock import Clock

from reconciler.apply import AccountReport, Applier, ApplySettings
from reconciler.errors import ExitCode, LockHeld, StalePlan
from reconciler.model import ActualUser
from reconciler.plan import AccountPlan, Plan, Step
from reconciler.progress import BarProgress, PlainProgress, make_progress, report_lines
from reconciler.retry import RetryPolicy
from reconciler.state import Scope, StateStore
from reconciler.steps import InvalidPlan, check_steps, step_digest

ACME = Scope("ipecs-cloud", "C1")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(tmp_path / "state.db")


def make_applier(
    store: StateStore, clock: Clock, out: io.StringIO | None = None, **settings: object
) -> Applier:
    return Applier(
        store,
        PlainProgress(out or io.StringIO()),
        settings=ApplySettings(**settings),  # type: ignore[arg-type]
        sleep=clock.sleep,
        clock=clock,
        rng=random.Random(1),
    )


def run(applier: Applier, provider: FakeProvider, *plans: AccountPlan) -> tuple[AccountReport, ...]:
    return applier.apply(Plan(plans), lambda platform: provider).accounts


def user_step(sid: str, action: str, ext: int, *deps: str) -> Step:
    return Step(sid, action, user=ext, after={"profile": "Premium"}, depends_on=deps)


def order(sid: str, before: int, after: int, *deps: str) -> Step:
    return Step(
        sid,
        "order_licences",
        licence="Premium",
        before={"quantity": before},
        after={"quantity": after},
        mode="approval",
        depends_on=deps,
    )


def confirm(sid: str, after: int, *deps: str, order_id: str | None = None) -> Step:
    params = {"order_id": order_id} if order_id else {}
    return Step(
        sid,
        "confirm_order",
        licence="Premium",
        after={"quantity": after},
        depends_on=deps,
        params=params,
    )


def statuses(report: AccountReport) -> dict[str, str]:
    return {r.step.id: r.status for r in report.results}


# --------------------------------------------------------------------------- order


def test_steps_run_in_dependency_order_not_list_order(store: StateStore, clock: Clock) -> None:
    provider = FakeProvider(account())
    plan = account_plan(
        provider.actual,
        user_step("s3", "change_profile", 297, "s2"),
        confirm("s2", 3, "s1"),
        order("s1", 2, 3),
    )
    (report,) = run(make_applier(store, clock), provider, plan)
    assert provider.writes == ["s1", "s2", "s3"]
    assert report.exit_code is ExitCode.OK
    assert report.state == "converged"


def test_each_write_carries_a_fresh_key_recorded_before_it_is_sent(
    store: StateStore, clock: Clock
) -> None:
    provider = FakeProvider(account())
    step = user_step("s1", "create_user", 201)
    run(make_applier(store, clock), provider, account_plan(provider.actual, step))
    ((sid, key),) = provider.calls
    assert sid == "s1" and len(key) == 32
    assert store.history("acme")[0].idempotency_key == key


def test_a_lost_answer_is_retried_with_the_same_key(store: StateStore, clock: Clock) -> None:
    provider = FakeProvider(account(), Script(lose_answer={"s1"}))
    step = user_step("s1", "create_user", 201)
    (report,) = run(make_applier(store, clock), provider, account_plan(provider.actual, step))
    assert statuses(report) == {"s1": "done"}
    assert [k for _, k in provider.calls] == [provider.calls[0][1]] * 2
    assert provider.writes == ["s1"]


def test_the_same_change_made_again_after_an_answer_gets_a_new_key(
    store: StateStore, clock: Clock
) -> None:
    # create -> (delete) -> create: the second create is a new request, never answered
    # with the first one's outcome
    provider = FakeProvider(account())
    step = user_step("s1", "create_user", 201)
    run(make_applier(store, clock), provider, account_plan(provider.actual, step))
    provider.actual = account()  # deleted again, by another plan
    run(make_applier(store, clock), provider, account_plan(provider.actual, step))
    first, second = (k for _, k in provider.calls)
    assert first != second
    assert provider.writes == ["s1", "s1"]


def test_a_write_whose_answer_never_came_is_resumed_with_its_key_only_while_needed(
    store: StateStore, clock: Clock
) -> None:
    # retries run out: the write may have happened. The next run that still needs the
    # step reuses its key (the platform answers the first write); a run whose plan no
    # longer needs it settles it, and the same change made later is a new request
    provider = FakeProvider(account())
    out_of_retries = make_applier(store, clock, retry=RetryPolicy(attempts=2))

    def lost(step: Step) -> str:
        provider.script.transient = {step.id: 99}
        (report,) = run(out_of_retries, provider, account_plan(provider.actual, step))
        assert statuses(report) == {step.id: "failed-transient"}
        provider.script.transient = {}
        return provider.calls[-1][1]

    resumed = user_step("s1", "create_user", 201)
    key = lost(resumed)
    run(make_applier(store, clock), provider, account_plan(provider.actual, resumed))
    assert provider.calls[-1][1] == key

    dropped = user_step("s1", "create_user", 203)
    key = lost(dropped)
    run(make_applier(store, clock), provider,
        account_plan(provider.actual, user_step("s1", "update_user", 201)))
    run(make_applier(store, clock), provider, account_plan(provider.actual, dropped))
    assert provider.calls[-1][1] != key


def test_step_digest_is_what_the_write_does_not_where_it_sits_in_a_plan() -> None:
    a = Step("s1", "change_profile", user=297, before={"profile": "A"}, after={"profile": "B"})
    assert step_digest(a) == step_digest(replace(a, id="s9", label="Swap", name="Ann"))
    assert step_digest(a) != step_digest(replace(a, after={"profile": "C"}))
    assert step_digest(a) != step_digest(replace(a, user=298))
    c = confirm("s2", 3)
    assert step_digest(replace(c, params={"order_id": "17"})) != step_digest(
        replace(c, params={"order_id": "42"})
    )


def test_two_plans_of_one_platform_account_are_refused(store: StateStore, clock: Clock) -> None:
    provider = FakeProvider(account())
    one = account_plan(provider.actual, user_step("s1", "create_user", 201), slug="one")
    two = account_plan(provider.actual, user_step("s1", "create_user", 201), slug="two")
    with pytest.raises(InvalidPlan, match="accounts one and two are the same platform account"):
        make_applier(store, clock).apply(Plan((one, two)), lambda p: provider)
    assert provider.calls == []


# ----------------------------------------------------------------- failures and skips


def test_permanent_failure_skips_dependants_and_runs_the_rest(
    store: StateStore, clock: Clock
) -> None:
    provider = FakeProvider(account(), Script(refuse={"s1": "no free licence of Premium"}))
    plan = account_plan(
        provider.actual,
        user_step("s1", "create_user", 201),
        user_step("s2", "update_user", 201, "s1"),
        user_step("s3", "create_user", 202),
        user_step("s4", "update_user", 201, "s2"),
    )
    (report,) = run(make_applier(store, clock), provider, plan)
    assert statuses(report) == {"s1": "failed", "s2": "skipped", "s3": "done", "s4": "skipped"}
    assert provider.writes == ["s3"]
    assert report.exit_code is ExitCode.ERROR
    lines = report_lines(replace_report(report))
    assert "    failed   s1 create_user user 201: no free licence of Premium" in lines
    assert "    skipped  s2 update_user user 201: waits on s1 (failed)" in lines
    assert "    skipped  s4 update_user user 201: waits on s2 (skipped)" in lines
    assert "  acme (ipecs-cloud): failed - 1 done, 1 failed, 2 skipped" in lines
    assert lines[-1] == "Result: failed (exit 1)"


def replace_report(report: AccountReport):  # type: ignore[no-untyped-def]
    from reconciler.apply import ApplyReport

    return ApplyReport((report,))


def test_transient_errors_are_retried_with_backoff_without_real_sleep(
    store: StateStore, clock: Clock
) -> None:
    provider = FakeProvider(account(), Script(transient={"s1": 2}))
    plan = account_plan(provider.actual, user_step("s1", "create_user", 201))
    (report,) = run(make_applier(store, clock), provider, plan)
    assert statuses(report) == {"s1": "done"}
    assert [c[0] for c in provider.calls] == ["s1", "s1", "s1"]
    assert len(clock.slept) == 2
    assert clock.slept[0] <= RetryPolicy().base and clock.slept[1] <= 2 * RetryPolicy().base


def test_transient_errors_past_the_budget_fail_the_step_and_skip_dependants(
    store: StateStore, clock: Clock
) -> None:
    provider = FakeProvider(account(), Script(transient={"s1": 99}))
    plan = account_plan(
        provider.actual,
        user_step("s1", "create_user", 201),
        user_step("s2", "update_user", 201, "s1"),
    )
    applier = make_applier(store, clock, retry=RetryPolicy(attempts=4))
    (report,) = run(applier, provider, plan)
    assert statuses(report) == {"s1": "failed-transient", "s2": "skipped"}
    assert len(provider.calls) == 4
    assert "429 Too Many Requests (gave up after 4 attempts" in report.results[0].message
    assert report.exit_code is ExitCode.ERROR


def test_lost_answer_is_retried_with_the_same_key_and_written_once(
    store: StateStore, clock: Clock
) -> None:
    provider = FakeProvider(account(), Script(lose_answer={"s1"}))
    plan = account_plan(provider.actual, user_step("s1", "create_user", 201))
    (report,) = run(make_applier(store, clock), provider, plan)
    assert statuses(report) == {"s1": "done"}
    assert provider.writes == ["s1"]
    assert len({key for _, key in provider.calls}) == 1
    assert len(provider.calls) == 2
    assert [u.extension for u in provider.actual.users] == [201]


# ----------------------------------------------------------------- orders and approval


def test_order_is_confirmed_with_its_order_id_once_approved(
    store: StateStore, clock: Clock
) -> None:
    provider = FakeProvider(account(), Script(approve_after_reads=2))
    plan = account_plan(
        provider.actual,
        order("s1", 2, 3),
        confirm("s2", 3, "s1"),
        user_step("s3", "change_profile", 297, "s2"),
    )
    (report,) = run(make_applier(store, clock, poll_interval=1.0), provider, plan)
    assert statuses(report) == {"s1": "done", "s2": "done", "s3": "done"}
    assert report.results[0].message == "order 101 submitted"
    assert [o.state for o in provider.actual.orders] == ["confirmed"]
    # looked at once in line (submitted), then polled: submitted, approved
    assert clock.slept == [1.0]


def test_steps_that_do_not_need_the_order_run_before_apply_waits_for_its_approval(
    store: StateStore, clock: Clock
) -> None:
    provider = FakeProvider(account(), Script(approve_after_reads=2))
    plan = account_plan(
        provider.actual,
        order("s1", 2, 3),
        confirm("s2", 3, "s1"),
        user_step("s3", "change_profile", 297, "s2"),
        user_step("s4", "create_user", 201),
    )
    (report,) = run(make_applier(store, clock, poll_interval=1.0), provider, plan)
    assert statuses(report) == {"s1": "done", "s2": "done", "s3": "done", "s4": "done"}
    assert provider.writes == ["s1", "s4", "s2", "s3"]
    assert [r.step.id for r in report.results] == ["s1", "s4", "s2", "s3"]


def test_order_not_approved_in_time_is_pending_and_exit_3(store: StateStore, clock: Clock) -> None:
    provider = FakeProvider(account(), Script(approve_after_reads=None))
    plan = account_plan(
        provider.actual,
        order("s1", 2, 3),
        confirm("s2", 3, "s1"),
        user_step("s3", "change_profile", 297, "s2"),
        user_step("s4", "update_user", 201),
    )
    out = io.StringIO()
    (report,) = run(
        make_applier(store, clock, out, wait_seconds=5, poll_interval=2), provider, plan
    )
    assert statuses(report) == {"s1": "done", "s2": "pending", "s3": "waiting", "s4": "done"}
    assert clock.now == 5.0
    assert report.exit_code is ExitCode.WAITING
    assert report.state == "waiting on approval"
    assert provider.writes == ["s1", "s4"]
    lines = report_lines(replace_report(report))
    assert (
        "    pending  s2 confirm_order Premium: order 101 (+1 Premium) is submitted, "
        "waiting on the platform's approval" in lines
    )
    assert lines[-1] == "Result: waiting on approval or a manual step (exit 3)"


def test_a_pending_order_from_an_earlier_run_is_continued_not_ordered_again(
    store: StateStore, clock: Clock
) -> None:
    provider = FakeProvider(account(), Script(approve_after_reads=None))
    # an earlier run submitted order 101 and timed out waiting
    run(
        make_applier(store, clock, wait_seconds=0),
        provider,
        account_plan(provider.actual, order("s1", 2, 3), confirm("s2", 3, "s1")),
    )
    provider.script.approve_after_reads = 0
    # the planner now sees the pending order and only emits its confirmation
    again = account_plan(provider.read_account("C1"), confirm("s1", 3, order_id="101"))
    (report,) = run(make_applier(store, clock), provider, again)
    assert statuses(report) == {"s1": "done"}
    assert provider.writes == ["s1", "s1"]  # the order, then its confirmation; no 2nd order
    assert [(o.order_id, o.state) for o in provider.actual.orders] == [("101", "confirmed")]


def test_rejected_order_fails_and_skips_what_needs_it(store: StateStore, clock: Clock) -> None:
    provider = FakeProvider(account(), Script(reject=True))
    plan = account_plan(
        provider.actual,
        order("s1", 2, 3),
        confirm("s2", 3, "s1"),
        user_step("s3", "change_profile", 297, "s2"),
    )
    (report,) = run(make_applier(store, clock), provider, plan)
    assert statuses(report) == {"s1": "done", "s2": "failed", "s3": "skipped"}
    assert report.results[1].message == "order 101 was rejected by the platform"


# ----------------------------------------------------------------------- manual


def test_manual_step_is_never_performed_and_its_request_is_printed(
    store: StateStore, clock: Clock
) -> None:
    provider = FakeProvider(account())
    request = "Please change C2TU-I25 on C2T-00001 from 10 to 12."
    plan = account_plan(
        provider.actual,
        Step("s1", "manual", licence="C2TU-I25", mode="manual", params={"request": request}),
        user_step("s2", "create_user", 103, "s1"),
        user_step("s3", "update_user", 100),
    )
    (report,) = run(make_applier(store, clock), provider, plan)
    assert statuses(report) == {"s1": "manual", "s2": "waiting", "s3": "done"}
    assert provider.writes == ["s3"]
    assert report.exit_code is ExitCode.WAITING
    lines = report_lines(replace_report(report))
    i = lines.index("    manual   s1 manual C2TU-I25: Service Desk request:")
    assert lines[i + 1] == "             " + request


# ------------------------------------------------------------------ stale, locks


def test_stale_plan_is_refused_before_any_write(store: StateStore, clock: Clock) -> None:
    provider = FakeProvider(account())
    plan = account_plan(provider.actual, user_step("s1", "create_user", 201))
    provider.actual = replace(provider.actual, users=(ActualUser(300, "u300", "New", "Basic"),))
    with pytest.raises(StalePlan) as e:
        run(make_applier(store, clock), provider, plan)
    assert str(e.value) == (
        "plan is stale: the platform changed since the plan was made (account acme); "
        "run reconciler plan again"
    )
    assert provider.calls == []
    assert store.holder(ACME) is None  # the lock is released on refusal


def test_one_stale_account_refuses_the_whole_plan(store: StateStore, clock: Clock) -> None:
    good = FakeProvider(account())
    stale = FakeProvider(replace(account(), external_id="C2"))
    plan_good = account_plan(good.actual, user_step("s1", "create_user", 201), slug="good")
    plan_stale = account_plan(stale.actual, user_step("s1", "create_user", 201), slug="stale")
    stale.actual = replace(stale.actual, name="Renamed on the platform")
    providers = {"C1": good, "C2": stale}

    class Router(FakeProvider):
        def read_account(self, external_id: str):  # type: ignore[no-untyped-def]
            return providers[external_id].read_account(external_id)

    with pytest.raises(StalePlan):
        make_applier(store, clock).apply(Plan((plan_good, plan_stale)), lambda p: Router(account()))
    assert good.calls == [] and stale.calls == []


def test_a_held_lock_refuses_with_the_holders_details(store: StateStore, clock: Clock) -> None:
    provider = FakeProvider(account())
    store.acquire(ACME, "acme", pid=4242, host="ci-7")
    plan = account_plan(provider.actual, user_step("s1", "create_user", 201))
    with pytest.raises(LockHeld) as e:
        run(make_applier(store, clock), provider, plan)
    assert str(e.value).startswith(
        "account acme (ipecs-cloud C1) is locked by apply pid 4242 on host ci-7 since "
    )
    assert str(e.value).endswith("; if that run is dead, run: reconciler unlock acme")
    assert provider.calls == []


def test_lock_is_released_after_the_run(store: StateStore, clock: Clock) -> None:
    provider = FakeProvider(account())
    run(
        make_applier(store, clock),
        provider,
        account_plan(provider.actual, user_step("s1", "create_user", 201)),
    )
    assert store.holder(ACME) is None


# ---------------------------------------------------------------------- journal


def test_every_write_is_journaled_with_its_outcome_and_nothing_else(
    store: StateStore, clock: Clock
) -> None:
    provider = FakeProvider(account(), Script(refuse={"s1": "extension 201 is in use"}))
    plan = account_plan(
        provider.actual,
        user_step("s1", "create_user", 201),
        user_step("s2", "update_user", 201, "s1"),
        user_step("s3", "create_user", 202),
    )
    run(make_applier(store, clock), provider, plan)
    history = store.history("acme")
    assert [(h.step_id, h.action, h.target, h.result) for h in history] == [
        ("s1", "create_user", "201", "failed"),
        ("s3", "create_user", "202", "done"),  # s2 sent nothing: in the report only
    ]
    assert history[0].error == "extension 201 is in use"
    assert history[1].idempotency_key == provider.calls[-1][1]
    assert len({h.run_id for h in history}) == 1 and history[0].actor


def test_plain_progress_prints_one_line_per_step(store: StateStore, clock: Clock) -> None:
    provider = FakeProvider(account())
    out = io.StringIO()
    plan = account_plan(
        provider.actual,
        user_step("s1", "create_user", 201),
        replace(user_step("s2", "change_profile", 202), label="Change Package"),
    )
    run(make_applier(store, clock, out), provider, plan)
    assert out.getvalue().splitlines() == [
        "acme: applying 2 steps",
        "acme: s1 create_user user 201: done: create_user ok",
        "acme: s2 change_profile (Change Package) user 202: done: change_profile ok",
    ]


# ------------------------------------------------------------- level-triggered rounds


def test_a_fresh_plan_with_work_left_runs_another_round(store: StateStore, clock: Clock) -> None:
    provider = FakeProvider(account())
    first = account_plan(provider.actual, user_step("s1", "create_user", 201))
    replans: list[int] = []

    def replan(slug: str, actual):  # type: ignore[no-untyped-def]
        replans.append(len(actual.users))
        if not actual.users:  # under the lock, before any write: the plan shown
            return account_plan(actual, user_step("s1", "create_user", 201))
        if len(actual.users) < 2:
            return account_plan(actual, user_step("s1", "create_user", 202))
        return account_plan(actual)

    (report,) = (
        make_applier(store, clock).apply(Plan((first,)), lambda p: provider, replan=replan).accounts
    )
    assert [u.extension for u in provider.actual.users] == [201, 202]
    assert replans == [0, 1, 2]
    assert report.exit_code is ExitCode.OK and report.remaining == 0


def test_a_plan_that_never_converges_stops_and_fails(store: StateStore, clock: Clock) -> None:
    provider = FakeProvider(account())
    counter = iter(range(1000, 2000))

    first = account_plan(provider.actual, user_step("s1", "create_user", 201))

    def replan(slug: str, actual):  # type: ignore[no-untyped-def]
        if not actual.users:
            return first
        return account_plan(actual, user_step("s1", "create_user", next(counter)))

    (report,) = (
        make_applier(store, clock).apply(Plan((first,)), lambda p: provider, replan=replan).accounts
    )
    assert len(provider.writes) == 3
    assert report.remaining == 1
    assert report.exit_code is ExitCode.ERROR and report.state == "not converged"


# ------------------------------------------------------------------ plan checks


def test_unknown_dependency_is_an_invalid_plan() -> None:
    plan = account_plan(account(), user_step("s1", "create_user", 201, "s9"))
    with pytest.raises(InvalidPlan, match="step s1 of account acme depends on unknown step s9"):
        check_steps(plan)


def test_dependency_cycle_is_an_invalid_plan() -> None:
    plan = account_plan(
        account(),
        user_step("s1", "create_user", 201, "s2"),
        user_step("s2", "create_user", 202, "s1"),
    )
    with pytest.raises(InvalidPlan, match="steps s1, s2 of account acme depend on each other"):
        check_steps(plan)


def test_no_changes_means_no_lock_and_exit_0(store: StateStore, clock: Clock) -> None:
    provider = FakeProvider(account())
    report = make_applier(store, clock).apply(
        Plan((account_plan(provider.actual),)), lambda p: provider
    )
    assert report.accounts == ()
    assert report.exit_code is ExitCode.OK
    assert report_lines(report)[-2:] == [
        "  no changes: nothing to apply",
        "Result: converged (exit 0)",
    ]


def test_on_a_terminal_a_bar_per_account_and_a_line_only_for_problems(
    store: StateStore, clock: Clock
) -> None:
    provider = FakeProvider(account(), Script(refuse={"s2": "no free licence of Premium"}))
    out = io.StringIO()
    progress = make_progress(out, tty=True)
    assert isinstance(progress, BarProgress)
    applier = Applier(store, progress, sleep=clock.sleep, clock=clock)
    plan = account_plan(
        provider.actual,
        user_step("s1", "create_user", 201),
        user_step("s2", "create_user", 202),
    )
    applier.apply(Plan((plan,)), lambda p: provider)
    text = out.getvalue()
    assert "acme" in text
    assert "acme: s2 create_user user 202: failed: no free licence of Premium" in text
    assert "s1 create_user" not in text  # done steps only move the bar


def test_off_a_terminal_progress_is_plain_lines() -> None:
    assert isinstance(make_progress(io.StringIO()), PlainProgress)
