"""Costs: Decimal to the cent, steps adding up to the account's monthly delta, the price
book's currency, and (property) a plan performed on the sandbox bills its monthly_after
and converges, whatever the mix of changes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plan_builders import (
    C2T,
    IPECS,
    MITEL,
    actual,
    au,
    cost_of,
    desired,
    du,
    money_of,
    perform_all,
    plan_of,
    steps_add_up,
)

from reconciler.catalog import Catalog
from reconciler.model import ActualAccount, ActualUser, DesiredAccount, DesiredUser, Policy, Site
from reconciler.planner import PlanOptions, plan_account
from reconciler.platforms import PLATFORMS
from reconciler.platforms.ipecs.catalog import LADDER as PACKAGES
from reconciler.platforms.mitel.catalog import LADDER as PROFILES
from reconciler.sandbox import Sandbox
from reconciler.sandbox.provider import SandboxProvider


def test_money_is_decimal_to_the_cent() -> None:
    p = plan_of(desired(C2T, du(2001, "pbx", licence="C2TU80"), licences={"C2TU80": 3}),
                actual(C2T))
    assert all(isinstance(s.monthly_delta, Decimal) for s in p.steps)
    assert money_of(p)[0] == ("s1", "12.75", "0.00")  # 3 x 4.25


@pytest.mark.parametrize(("sku", "count", "monthly"), [
    ("C2TU1", 10, "60.00"), ("C2TU25", 10, "50.00"), ("C2TU80", 10, "42.50"),
    ("C2TU250", 10, "35.00"), ("T2TU80", 10, "36.00"), ("C2TUT", 10, "0.00"),
])
def test_call2teams_tier_prices(sku: str, count: int, monthly: str) -> None:
    p = plan_of(desired(C2T, licences={sku: count}), actual(C2T))
    assert cost_of(p) == ("0.00", monthly, monthly, "0.00")


def test_price_book_prices_and_currency_are_used() -> None:
    platform = PLATFORMS[MITEL]
    catalog = platform.catalog.with_prices(
        {"products": {"standard": {"monthly": Decimal("31.50"), "one_time": Decimal("0")}}},
        currency="EUR")
    p = plan_account(desired(MITEL, du(1001, "standard", add_ons=["fax"])), actual(MITEL),
                     catalog, platform, PlanOptions())
    assert (p.cost.currency, str(p.cost.monthly_after), str(p.cost.one_time)) == (
        "EUR", "35.50", "0.00")


def test_call2teams_totals_are_in_the_price_books_currency() -> None:
    platform = PLATFORMS[C2T]
    catalog = platform.catalog.with_prices({}, currency="GBP")
    p = plan_account(desired(C2T, licences={"C2TU25": 2}), actual(C2T), catalog, platform,
                     PlanOptions())
    assert dict(p.steps[0].params) == {"old_total": "0.00", "new_total": "10.00",
                                       "currency": "GBP"}
    assert p.cost.currency == "GBP"


# --------------------------------------------------------------------------- property


MITEL_ADD_ONS = ("call-recording", "fax", "teams-integration", "contact-center",
                 "recording-archive")


def _valid_add_ons(catalog: Catalog, profile: str, picked: list[str]) -> frozenset[str]:
    allowed = [a for a in picked if a in catalog.products[profile].add_ons]
    chosen = set(allowed)
    return frozenset(a for a in chosen if catalog.add_ons[a].requires <= chosen)


@st.composite
def scenarios(draw: st.DrawFn, platform: str) -> tuple[DesiredAccount, ActualAccount]:
    catalog = PLATFORMS[platform].catalog
    base = {MITEL: 1000, IPECS: 100, C2T: 2000}[platform]
    kinds = ("same", "change", "absent", "unmanaged", "renumber")
    n = draw(st.integers(0, 6))
    users: list[ActualUser] = []
    wanted: list[DesiredUser] = []
    pools: dict[str, int] = {}
    for i in range(n):
        ext = base + i
        if platform == MITEL:
            prof = draw(st.sampled_from(PROFILES))
            add_ons = _valid_add_ons(catalog, prof, draw(st.lists(st.sampled_from(MITEL_ADD_ONS))))
            users.append(au(ext, prof, add_ons=add_ons))
        elif platform == IPECS:
            prof = draw(st.sampled_from(PACKAGES))
            users.append(au(ext, prof, site="Main"))
            pools[prof] = pools.get(prof, 0) + 1
        else:
            sku = draw(st.sampled_from(("C2TU1", "C2TU25", "C2TU80")))
            users.append(au(ext, "pbx", licence=sku))
            pools[sku] = pools.get(sku, 0) + 1
        kind = draw(st.sampled_from(kinds))
        if kind == "unmanaged":
            continue
        if kind == "absent":
            wanted.append(du(ext, absent=True))
            continue
        new_ext = ext + 50 if kind == "renumber" else ext
        wanted.append(_change(draw, platform, catalog, new_ext, users[-1].profile,
                              users[-1].licence, kind == "change",
                              renumbered_from=ext if kind == "renumber" else None))
    for j in range(draw(st.integers(0, 3))):
        ext = base + 20 + j
        start = PROFILES[2] if platform == MITEL else PACKAGES[1] if platform == IPECS else "pbx"
        wanted.append(_change(draw, platform, catalog, ext, start, "C2TU25", True,
                              name=f"New {ext}"))
    for key in list(pools):  # some free licences on the platform
        pools[key] += draw(st.integers(0, 1))
    a = ActualAccount(platform=platform, external_id="X-1", name="Prop Co",
                      users=tuple(users), sites=(Site("Main", 100, 299),),
                      licences=tuple(actual(platform, licences=pools).licences))
    d = desired(platform, *wanted, policy=Policy(allow_downgrade=True))
    return d, a


def _change(draw: st.DrawFn, platform: str, catalog: Catalog, ext: int, profile: str,
            licence: str | None, change: bool, **kw: Any) -> DesiredUser:
    if platform == MITEL:
        prof = draw(st.sampled_from(PROFILES)) if change else profile
        managed = draw(st.booleans()) or "name" in kw
        picked = draw(st.lists(st.sampled_from(MITEL_ADD_ONS)))
        return du(ext, prof, add_ons=_valid_add_ons(catalog, prof, picked) if managed else None,
                  **kw)
    if platform == IPECS:
        prof = draw(st.sampled_from(PACKAGES)) if change else profile
        return du(ext, prof, site="Main", **kw)
    sku = draw(st.sampled_from(("C2TU1", "C2TU25", "C2TU80"))) if change else licence
    return du(ext, "pbx", licence=sku, **kw)


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sandbox = Sandbox(Path(tmp_path_factory.mktemp("prop")) / "sandbox.db", demo_state=False)
    yield sandbox
    sandbox.close()


@pytest.mark.parametrize("platform", [MITEL, IPECS, C2T])
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          deadline=None)
@given(data=st.data())
def test_a_performed_plan_bills_its_monthly_after_and_converges(
        box: Sandbox, platform: str, data: st.DataObject,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    monkeypatch.delenv("RECONCILER_MITEL_ROLE", raising=False)
    d, a = data.draw(scenarios(platform))
    box.reset(demo_state=False)
    box.load_state([a])
    p = plan_of(d, a)
    assert steps_add_up(p)
    assert p.cost.monthly_before == box.billed_monthly(platform, "X-1")
    ids = [s.id for s in p.steps]
    assert all(ids.index(dep) < ids.index(s.id) for s in p.steps for dep in s.depends_on)
    perform_all(SandboxProvider(platform, box), p)
    assert box.billed_monthly(platform, "X-1") == p.cost.monthly_after
    if platform == MITEL:
        charged = sum((Decimal(str(c["amount"])) for c in box.charges(platform, "X-1")),
                      Decimal(0))
        assert charged == p.cost.one_time
    again = plan_of(d, box.read_account(platform, "X-1"))
    assert again.steps == ()
