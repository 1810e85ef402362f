"""What apply checks and derives from a plan's steps before it runs them: their order
(:func:`check_steps`, refusing a saved plan that cannot be run) and the idempotency key
of each write (:func:`idempotency_key`, the contract in docs/steps.md)."""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Mapping
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.plan import ACTIONS, MODES, AccountPlan, Step


class InvalidPlan(ReconcilerError):
    """A saved plan whose steps cannot be run (unknown action, dependency or a cycle)."""



def idempotency_key(account: str, step: Step, day: str = "") -> str:
    """sha256(account | action | target | before | after | day), shortened (docs/steps.md).

    The same pending work gets the same key, so a retry after a lost answer or a re-run
    after a crash gets the first outcome back instead of writing again. ``day`` is the
    platform's date: keys are kept by a platform for about a day (assumed, as with most
    idempotency-key APIs), and the same change made again on a later day (A -> B, back to
    A, then B again next month) must be performed, not answered with the first outcome.
    A re-run on a later day is still safe: apply re-reads the platform first, so work that
    was done is not planned again. A ``confirm_order`` also carries its order id: two
    orders that end at the same pool size must not share a key. An order placed again after
    the platform rejected one carries the rejected ids (``params["supersedes"]``), so it is
    a new request, not the rejected one answered again.
    """
    parts = [account, step.action, step.target, _canon(step.before), _canon(step.after), day]
    if step.action == "confirm_order" and step.params.get("order_id"):
        parts.append(str(step.params["order_id"]))
    if step.params.get("supersedes"):  # re-ordering after a rejection is a new request
        parts.extend(str(order_id) for order_id in step.params["supersedes"])
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _canon(data: Mapping[str, Any] | None) -> str:
    return json.dumps(data or {}, sort_keys=True, separators=(",", ":"), default=str)


def check_steps(plan: AccountPlan) -> tuple[Step, ...]:
    """The steps in dependency order (plan order where free), or :class:`InvalidPlan`."""
    ids = [s.id for s in plan.steps]
    if len(set(ids)) != len(ids):
        raise InvalidPlan(f"plan is invalid: duplicate step ids in account {plan.account}")
    for s in plan.steps:
        if s.action not in ACTIONS or s.mode not in MODES:
            raise InvalidPlan(
                f"plan is invalid: step {s.id} of account {plan.account} has unknown "
                f"action {s.action!r} or mode {s.mode!r}"
            )
        for dep in s.depends_on:
            if dep not in ids:
                raise InvalidPlan(
                    f"plan is invalid: step {s.id} of account {plan.account} depends on "
                    f"unknown step {dep}"
                )
    # Kahn's algorithm, taking the earliest step in plan order among those ready: linear
    # (but for the heap) in the number of steps
    position = {s.id: i for i, s in enumerate(plan.steps)}
    waiting_on = {s.id: len(set(s.depends_on)) for s in plan.steps}
    dependants: dict[str, list[str]] = {}
    for s in plan.steps:
        for dep in set(s.depends_on):
            dependants.setdefault(dep, []).append(s.id)
    ready = [position[sid] for sid, n in waiting_on.items() if n == 0]
    heapq.heapify(ready)
    ordered: list[Step] = []
    while ready:
        step = plan.steps[heapq.heappop(ready)]
        ordered.append(step)
        for sid in dependants.get(step.id, ()):
            waiting_on[sid] -= 1
            if waiting_on[sid] == 0:
                heapq.heappush(ready, position[sid])
    if len(ordered) != len(plan.steps):
        placed = {s.id for s in ordered}
        stuck = ", ".join(s.id for s in plan.steps if s.id not in placed)
        raise InvalidPlan(
            f"plan is invalid: steps {stuck} of account {plan.account} depend on each other"
        )
    return tuple(ordered)
