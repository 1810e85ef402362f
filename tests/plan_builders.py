"""Small builders for desired/actual accounts and a compact view of plans (planner tests)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from reconciler.model import (
    ActualAccount,
    ActualUser,
    ChangeOrder,
    DesiredAccount,
    DesiredUser,
    Licence,
    Mark,
    Policy,
)
from reconciler.money import fmt
from reconciler.plan import AccountPlan, Step
from reconciler.planner import PlanOptions, plan_account
from reconciler.platforms import PLATFORMS

FILE = "accounts/t.yaml"
TODAY = date(2026, 3, 1)
MITEL, IPECS, C2T = "mitel-connect", "ipecs-cloud", "call2teams"
BASIC, PREMIUM, PLUS, VM = ("Basic User With VM", "Premium iPECS ONE USER",
                            "Premium PLUS iPECS ONE USER", "Stand Alone VM")


def du(ext: int, profile: str | None = None, *, add_ons: Iterable[str] | None = None,
       **kw: Any) -> DesiredUser:
    """A desired user; its mark is line ``ext`` of accounts/t.yaml. Its name defaults to
    ``User <ext>``, the name :func:`au` gives the same user on the platform (a new user
    needs one)."""
    kw.setdefault("name", f"User {kw.get('renumbered_from') or ext}")
    return DesiredUser(extension=ext, mark=Mark(FILE, ext % 1000, 5), profile=profile,
                       add_ons=None if add_ons is None else frozenset(add_ons), **kw)


def au(ext: int, profile: str, *, add_ons: Iterable[str] = (), name: str | None = None,
       **kw: Any) -> ActualUser:
    return ActualUser(extension=ext, user_id=f"u{ext}", name=name or f"User {ext}",
                      profile=profile, add_ons=frozenset(add_ons), **kw)


def desired(platform: str, *users: DesiredUser, licences: dict[str, int] | None = None,
            policy: Policy | None = None, kind: str = "client", **kw: Any) -> DesiredAccount:
    return DesiredAccount(slug="t", platform=platform, external_id="X-1", path=FILE,
                          mark=Mark(FILE, 1, 1), name="Test Co", kind=kind,
                          policy=policy or Policy(), licences=licences, users=tuple(users),
                          marks={"licences": Mark(FILE, 3, 1)}, **kw)


def actual(platform: str, *users: ActualUser, licences: dict[str, int] | None = None,
           orders: Iterable[ChangeOrder] = (), trials: Iterable[Licence] = (),
           kind: str = "client", today: date = TODAY) -> ActualAccount:
    pool = tuple(Licence(k, n, date(2025, 1, 1)) for k, n in (licences or {}).items())
    return ActualAccount(platform=platform, external_id="X-1", name="Test Co", kind=kind,
                         today=today, users=tuple(users), licences=pool + tuple(trials),
                         orders=tuple(orders))


def plan_of(d: DesiredAccount, a: ActualAccount, **options: bool) -> AccountPlan:
    platform = PLATFORMS[d.platform]
    return plan_account(d, a, platform.catalog, platform, PlanOptions(**options))


def row(s: Step) -> tuple[Any, ...]:
    """(id, action, target, before, after, depends_on) of a step, dicts as plain dicts."""
    return (s.id, s.action, s.user if s.user is not None else s.licence,
            dict(s.before or {}), dict(s.after or {}), s.depends_on)


def rows(plan: AccountPlan) -> list[tuple[Any, ...]]:
    return [row(s) for s in plan.steps]


def money_of(plan: AccountPlan) -> list[tuple[str, str, str]]:
    """(id, monthly_delta, one_time) per step, as the wire shows them."""
    return [(s.id, fmt(s.monthly_delta), fmt(s.one_time)) for s in plan.steps]


def cost_of(plan: AccountPlan) -> tuple[str, str, str, str]:
    c = plan.cost
    return (fmt(c.monthly_before), fmt(c.monthly_after), fmt(c.monthly_delta), fmt(c.one_time))


def steps_add_up(plan: AccountPlan) -> bool:
    return sum((s.monthly_delta for s in plan.steps), Decimal(0)) == plan.cost.monthly_delta


def order(order_id: str, licence: str, delta: int, state: str = "approved") -> ChangeOrder:
    return ChangeOrder(order_id=order_id, licence=licence, delta=delta, state=state,
                       submitted_on=date(2026, 2, 20))


def perform_all(provider: Any, plan: AccountPlan) -> list[str]:
    """Do every step of ``plan`` in order through ``provider`` as apply would (manual steps
    and their dependants skipped; a confirm without an order id takes the one its order
    step got). Returns the statuses, one per step."""
    order_ids: dict[str, str] = {}
    skipped: set[str] = set()
    statuses: list[str] = []
    for s in plan.steps:
        if s.mode == "manual" or skipped & set(s.depends_on):
            skipped.add(s.id)
            statuses.append("skipped")
            continue
        step = s
        if s.action == "confirm_order" and "order_id" not in s.params:
            step = replace(s, params={"order_id": order_ids[s.depends_on[0]]})
        outcome = provider.perform(plan.external_id, step, f"{plan.account}-{s.id}-{s.action}")
        if outcome.order_id:
            order_ids[s.id] = outcome.order_id
        statuses.append(outcome.status)
    return statuses
