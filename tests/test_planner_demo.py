"""End to end over the shipped demo: accounts/ against the sandbox's demo live state."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from plan_builders import cost_of, perform_all, rows, steps_add_up

from reconciler.config import Config
from reconciler.connect import provider_for
from reconciler.errors import InputError
from reconciler.plan import AccountPlan, Plan
from reconciler.planner import PlanOptions, make_plan
from reconciler.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
PREMIUM, BASIC = "Premium iPECS ONE USER", "Basic User With VM"


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    shutil.copytree(ROOT / "accounts", tmp_path / "accounts")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    return Config(root=tmp_path)


def by_slug(plan: Plan) -> dict[str, AccountPlan]:
    return {a.account: a for a in plan.accounts}


def test_demo_plan_key_steps(demo: Config) -> None:
    plans = by_slug(make_plan(["accounts"], demo, PlanOptions()))
    assert sorted(plans) == ["contoso", "northwind", "partner-internal", "vertical-demo"]

    vertical = plans["vertical-demo"]
    assert [r for r in rows(vertical) if r[1] != "update_user"] == [
        ("s1", "order_licences", PREMIUM, {"quantity": 2}, {"quantity": 3}, ()),
        ("s2", "confirm_order", PREMIUM, {}, {"quantity": 3}, ("s1",)),
        ("s4", "change_profile", 297, {"profile": BASIC}, {"profile": PREMIUM}, ("s2",)),
        ("s5", "return_licences", BASIC, {"quantity": 3}, {"quantity": 2}, ("s4",)),
        ("s6", "confirm_order", BASIC, {}, {"quantity": 2}, ("s5",)),
    ]
    assert rows(vertical)[2] == ("s3", "update_user", 202, {"name": "Sales"},
                                 {"name": "Sales Desk"}, ())
    assert cost_of(vertical) == ("90.00", "98.00", "8.00", "0.00")

    northwind = plans["northwind"]
    swaps = {s.user: s for s in northwind.steps if s.action == "change_profile"}
    assert (swaps[1003].before, swaps[1003].after) == (
        {"profile": "telephony", "add_ons": []}, {"profile": "essentials", "add_ons": []})
    assert swaps[1006].after == {"profile": "standard",
                                 "add_ons": ["call-recording", "recording-archive"]}
    assert swaps[1006].warnings == (
        "downgrade of 1006 from Advanced CLOUD to Standard CLOUD loses add-on Contact Center "
        "Agent and included feature Video Meetings",)
    new = next(s for s in northwind.steps if s.action == "create_user")
    assert (new.user, str(new.one_time)) == (1007, "45.00")
    assert northwind.unmanaged == ({"extension": 1099, "name": "Old Conference Room",
                                    "profile": "courtesy"},)
    assert [(v.policy, v.blocking) for v in northwind.blocked] == [("prune", False)]

    contoso = plans["contoso"]
    assert rows(contoso) == [
        ("s1", "order_licences", "C2TU25", {"quantity": 25}, {"quantity": 30}, ()),
    ]
    assert contoso.steps[0].label == "Amend Subscription"
    assert len(contoso.warnings) == 1
    assert contoso.warnings[0].startswith("trial C2TUT expires on ")
    assert contoso.warnings[0].endswith("(in 5 days); trials cannot be extended: move its "
                                        "users to a paid SKU before then")

    internal = plans["partner-internal"]
    assert [(s.action, s.mode, dict(s.params)) for s in internal.steps] == [
        ("manual", "manual", {"request": "Please amend subscription C2TU-I25 on account "
                                         "C2T-00001 (Partner Internal) from 10 to 12 licences."}),
    ]
    plan = make_plan(["accounts"], demo, PlanOptions())
    assert not plan.is_blocked
    assert all(steps_add_up(a) for a in plan.accounts)


def test_only_one_account(demo: Config) -> None:
    plan = make_plan(["accounts"], demo, PlanOptions(), account="contoso")
    assert [a.account for a in plan.accounts] == ["contoso"]


def test_fingerprint_is_of_the_state_read(demo: Config) -> None:
    plan = by_slug(make_plan(["accounts"], demo, PlanOptions()))
    actual = provider_for("call2teams", demo).read_account("C2T-10042")
    assert plan["contoso"].fingerprint == actual.fingerprint()


def test_monthly_before_is_what_the_sandbox_bills(demo: Config) -> None:
    box = Sandbox.open(demo)
    try:
        for a in make_plan(["accounts"], demo, PlanOptions()).accounts:
            assert a.cost.monthly_before == box.billed_monthly(a.platform, a.external_id), \
                a.account
    finally:
        box.close()


def test_applying_the_demo_plan_bills_monthly_after_and_converges(demo: Config) -> None:
    box = Sandbox.open(demo)
    try:
        for a in make_plan(["accounts"], demo, PlanOptions()).accounts:
            statuses = perform_all(provider_for(a.platform, demo), a)
            assert "skipped" not in statuses or a.account == "partner-internal"
            if a.account != "partner-internal":
                assert box.billed_monthly(a.platform, a.external_id) == a.cost.monthly_after
        again = by_slug(make_plan(["accounts"], demo, PlanOptions()))
        assert [a for a, p in again.items() if p.steps] == ["partner-internal"]
        # the one-time charges the sandbox billed are the plan's
        charged = sum(float(c["amount"]) for c in box.charges("mitel-connect", "CC-104233"))
        assert charged == 45.0
    finally:
        box.close()


def test_declared_count_below_unmanaged_need_is_an_error_at_plan_time(demo: Config) -> None:
    path = Path("accounts/vertical-demo.yaml")
    text = path.read_text().replace("  - extension: 250\n    name: After Hours Voicemail\n"
                                    "    site: Vertical Demo\n    profile: Stand Alone VM\n", "")
    text = text.replace("# licences omitted: the pool is exactly what the users below need\n",
                        "licences:\n  Stand Alone VM: 0\n  Premium iPECS ONE USER: 3\n"
                        "  Basic User With VM: 2\n")
    path.write_text(text)
    with pytest.raises(InputError) as e:
        make_plan(["accounts"], demo, PlanOptions(), account="vertical-demo")
    assert str(e.value).startswith("accounts/vertical-demo.yaml:")
    assert str(e.value).endswith(
        "licences: Stand Alone VM is 0, but the users need 1 (1 of them unmanaged on the "
        "platform: mark them absent: true, set policy.prune: true or raise the count)")


def test_duplicate_slug_is_refused_as_validate_refuses_it(demo: Config) -> None:
    from reconciler.accounts import load_accounts
    from reconciler.errors import ValidationFailed

    text = Path("accounts/contoso-c2t.yaml").read_text()
    Path("accounts/zz-copy.yaml").write_text(text.replace("C2T-10042", "C2T-10043"))
    with pytest.raises(ValidationFailed) as planned:
        make_plan(["accounts"], demo, PlanOptions())
    with pytest.raises(ValidationFailed) as validated:
        load_accounts(["accounts"], demo)
    assert str(planned.value) == str(validated.value)
    assert str(planned.value).startswith('accounts/zz-copy.yaml:3:10: account "contoso" is '
                                         "already defined in accounts/contoso-c2t.yaml:3:10")


def test_unknown_account_says_did_you_mean(demo: Config) -> None:
    with pytest.raises(InputError) as e:
        make_plan(["accounts"], demo, PlanOptions(), account="contos")
    assert str(e.value) == 'no account "contos" in accounts (did you mean "contoso"?)'


def test_files_are_loaded_and_planned_one_at_a_time(demo: Config,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import reconciler.accounts as accounts
    import reconciler.planner as planner

    events: list[str] = []
    read = accounts._read
    plan_account = planner.plan_account

    def loading(source: accounts._Source, *args: object) -> object:
        events.append(f"load {source.path.name}")
        return read(source, *args)  # type: ignore[arg-type]

    def planning(desired: object, *args: object, **kwargs: object) -> object:
        events.append(f"plan {desired.slug}")  # type: ignore[attr-defined]
        return plan_account(desired, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(accounts, "_read", loading)
    monkeypatch.setattr(planner, "plan_account", planning)
    make_plan(["accounts"], demo, PlanOptions(), parallelism=1)
    assert events == ["load contoso-c2t.yaml", "plan contoso",
                      "load northwind-mitel.yaml", "plan northwind",
                      "load partner-internal.yaml", "plan partner-internal",
                      "load vertical-demo.yaml", "plan vertical-demo"]


def test_a_half_done_ipecs_plan_continues_its_order_never_orders_again(
        demo: Config) -> None:
    from reconciler.config import ProviderConfig

    config = replace(demo, providers={"ipecs-cloud": ProviderConfig(
        options={"approval": "manual"})})
    first = make_plan(["accounts"], config, PlanOptions(), account="vertical-demo").accounts[0]
    provider = provider_for("ipecs-cloud", config)
    outcome = provider.perform(first.external_id, first.steps[0], "k-order")
    assert (first.steps[0].action, outcome.status) == ("order_licences", "pending")

    again = make_plan(["accounts"], config, PlanOptions(), account="vertical-demo").accounts[0]
    assert [r[1:3] + (r[5],) for r in rows(again)] == [
        ("confirm_order", PREMIUM, ()),
        ("update_user", 202, ()),
        ("change_profile", 297, ("s1",)),
        ("return_licences", BASIC, ("s3",)),
        ("confirm_order", BASIC, ("s4",)),
    ]
    assert dict(again.steps[0].params) == {"order_id": outcome.order_id}
    assert again.steps[0].warnings == (
        f"change order {outcome.order_id} still waits for the platform's approval; apply "
        "confirms it once approved",)
    assert again.cost == first.cost


def _reference_jsonable(obj: object) -> object:
    """The fingerprint's serialisation as first written (model.to_jsonable is a faster
    equivalent: a saved plan's fingerprint must not change with it)."""
    import dataclasses
    from collections.abc import Mapping
    from datetime import date
    from decimal import Decimal

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _reference_jsonable(getattr(obj, f.name))
                for f in dataclasses.fields(obj) if f.name not in ("marks", "mark")}
    if isinstance(obj, (frozenset, set)):
        return sorted(obj)
    if isinstance(obj, (list, tuple)):
        return [_reference_jsonable(x) for x in obj]
    if isinstance(obj, Mapping):
        return {str(k): _reference_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return str(obj)
    return obj


def test_fingerprint_serialisation_is_unchanged() -> None:
    from reconciler.model import ChangeOrder, to_jsonable
    from reconciler.sandbox.demo import demo_accounts

    states = list(demo_accounts())
    states[0] = replace(states[0], orders=(ChangeOrder("503040", PREMIUM, 1, "approved",
                                                        date(2026, 1, 2), "k1"),))
    for state in states:
        assert to_jsonable(state) == _reference_jsonable(state)


def test_transient_read_failures_are_retried_and_the_plan_is_the_same(
        demo: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    import reconciler.retry as retry

    clean = make_plan(["accounts"], demo, PlanOptions())
    monkeypatch.setattr(retry.time, "sleep", lambda _s: None)  # backoff without waiting
    monkeypatch.setenv("RECONCILER_SANDBOX_FAULTS", "transient=0.5,seed=11")
    flaky = make_plan(["accounts"], demo, PlanOptions())
    assert [a.fingerprint for a in flaky.accounts] == [a.fingerprint for a in clean.accounts]
    assert [a.steps for a in flaky.accounts] == [a.steps for a in clean.accounts]
