"""What apply checks and derives from a plan's steps before it runs them: their order
(:func:`check_steps`, refusing a saved plan that cannot be run) and the idempotency key
of each write (:func:`step_digest`, :func:`new_key`; the contract in docs/steps.md)."""

from __future__ import annotations

import hashlib
import heapq
import json
import uuid
from collections.abc import Mapping
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.plan import ACTIONS, MODES, AccountPlan, Step


class InvalidPlan(ReconcilerError):
    """A saved plan whose steps cannot be run (unknown action, dependency or a cycle)."""



def step_digest(step: Step) -> str:
    """What a write does, whatever its place in a plan: sha256 of its action, target,
    before, after and params (an order id, the rejected orders it supersedes), shortened.
    Apply finds the unsettled write of the same step by it (docs/steps.md, idempotency
    keys); the step id, its wording and its money are left out."""
    parts = [step.action, step.target, _canon(step.before), _canon(step.after),
             _canon(step.params)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def new_key() -> str:
    """A fresh idempotency key: one intent, never derived from the step alone, so the
    same change made again (create, delete, create) is a new request to the platform."""
    return uuid.uuid4().hex


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
