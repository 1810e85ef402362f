"""``runbook status``: each runbook step checked against the portal's next exports alone.

A step is *done* when the exports show its result, *not yet* when they still show the
state before it, and *different* when they show something else than what was asked (the
wrong package chosen, another quantity ordered). The check reads the account's actual
state, so it is the same for every platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.model import ActualAccount, ActualUser
from reconciler.plan import AccountPlan, Step

DONE, NOT_YET, DIFFERENT = "done", "not yet", "different"


@dataclass(frozen=True)
class StepStatus:
    number: int
    step: Step
    status: str
    detail: str = ""


def check(plan: AccountPlan, actual: ActualAccount) -> list[StepStatus]:
    return [StepStatus(n, s, *_check(s, actual))
            for n, s in enumerate(plan.steps, start=1)]


def _field(user: ActualUser, key: str) -> Any:
    value = getattr(user, key, None)
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def _same(user: ActualUser, record: Mapping[str, Any]) -> list[str]:
    """The keys of ``record`` the user does not have as asked."""
    out = []
    for key, want in record.items():
        if key in ("extension",):
            continue
        have = _field(user, key)
        if isinstance(want, list):
            want = sorted(want)
        if have != want:
            out.append(key)
    return out


def _shows(user: ActualUser, keys: list[str], asked: Mapping[str, Any]) -> str:
    return "; ".join(f"the export shows {k} {_field(user, k)!r}, the runbook asked {asked[k]!r}"
                     for k in keys)


def _check(step: Step, actual: ActualAccount) -> tuple[str, str]:
    a, b = dict(step.after or {}), dict(step.before or {})
    if step.action in ("order_licences", "return_licences", "manual", "confirm_order"):
        return _check_licence(step, actual, a, b)
    user = actual.user(step.user) if step.user is not None else None
    if step.action == "delete_user":
        return (DONE, "") if user is None else (NOT_YET, f"user {step.user} is still there")
    if step.action == "renumber_user":
        if user is not None and actual.user(int(b.get("extension", -1))) is None:
            return DONE, ""
        return NOT_YET, f"no user at {step.user} yet"
    if user is None:
        return NOT_YET, f"no user {step.user} in the export"
    if step.action == "add_addon":
        return (DONE, "") if a.get("add_on") in user.add_ons else (
            NOT_YET, f"{a.get('add_on')} is not ticked")
    if step.action == "remove_addon":
        return (DONE, "") if b.get("add_on") not in user.add_ons else (
            NOT_YET, f"{b.get('add_on')} is still ticked")
    wrong = _same(user, a)
    if not wrong:
        return DONE, ""
    if step.action in ("update_user", "change_profile", "replace_user") and not _same(
        user, {k: v for k, v in b.items() if k in a}
    ):
        return NOT_YET, _shows(user, wrong, a)
    return DIFFERENT, _shows(user, wrong, a)


def _check_licence(step: Step, actual: ActualAccount, a: Mapping[str, Any],
                   b: Mapping[str, Any]) -> tuple[str, str]:
    key = str(step.licence)
    lic = actual.licence(key)
    have = lic.quantity if lic is not None else 0
    want = int(a.get("quantity", 0))
    if have == want:
        return DONE, ""
    orders = [o for o in actual.orders if o.licence == key]
    order_id = step.params.get("order_id")
    if step.action == "confirm_order":
        pending = [o for o in orders if o.pending and (order_id is None
                                                        or o.order_id == str(order_id))]
        if pending:
            o = pending[-1]
            return NOT_YET, f"order {o.order_id} ({o.delta:+d}) is {o.state}: final-confirm it"
        return NOT_YET, f"the export shows {have} {key}, the runbook asked {want}"
    delta = want - int(b.get("quantity", 0))
    for o in reversed(orders):
        if o.delta == delta and o.state != "rejected":
            return DONE, f"order {o.order_id} is {o.state}"
        if o.delta == delta:
            return DIFFERENT, f"order {o.order_id} was rejected"
        if o.pending:
            return DIFFERENT, f"order {o.order_id} asks {o.delta:+d}, the runbook asked {delta:+d}"
    if have == int(b.get("quantity", 0)):
        return NOT_YET, f"the export shows {have} {key}"
    return DIFFERENT, f"the export shows {have} {key}, the runbook asked {want}"
