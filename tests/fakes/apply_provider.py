"""A scriptable Provider for the apply engine's own tests: no platform rules, only what the
engine must cope with (failures, lost answers, orders waiting on approval)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from reconciler.errors import PlatformError, TransientError
from reconciler.model import ActualAccount, ActualUser, ChangeOrder
from reconciler.plan import AccountPlan, Cost, Step
from reconciler.provider import Provider, StepOutcome


@dataclass
class Script:
    #: step id -> permanent error message
    refuse: dict[str, str] = field(default_factory=dict)
    #: step id -> how many calls fail with TransientError before doing anything
    transient: dict[str, int] = field(default_factory=dict)
    #: step ids whose first successful write loses its answer (TransientError after writing)
    lose_answer: set[str] = field(default_factory=set)
    #: reads (of the account) after an order's submission before it is approved; None = never
    approve_after_reads: int | None = 0
    reject: bool = False
    #: reads that fail with TransientError before succeeding
    read_failures: int = 0


class FakeProvider(Provider):
    platform = "ipecs-cloud"

    def __init__(self, actual: ActualAccount, script: Script | None = None) -> None:
        self.actual = actual
        self.script = script or Script()
        #: (step id, idempotency key) of every call, in order
        self.calls: list[tuple[str, str]] = []
        #: step ids whose write took effect, once per key
        self.writes: list[str] = []
        self._outcomes: dict[str, StepOutcome] = {}
        self._reads_since_order: dict[str, int] = {}
        self._order_seq = 100

    def read_account(self, external_id: str) -> ActualAccount:
        if self.script.read_failures:
            self.script.read_failures -= 1
            raise TransientError("503 Service Unavailable")
        orders = []
        for o in self.actual.orders:
            if o.state == "submitted":
                seen = self._reads_since_order.get(o.order_id, 0)
                self._reads_since_order[o.order_id] = seen + 1
                if self.script.reject:
                    o = replace(o, state="rejected")
                elif (
                    self.script.approve_after_reads is not None
                    and seen >= self.script.approve_after_reads
                ):
                    o = replace(o, state="approved")
            orders.append(o)
        self.actual = replace(self.actual, orders=tuple(orders))
        return self.actual

    def perform(self, external_id: str, step: Step, idempotency_key: str) -> StepOutcome:
        self.calls.append((step.id, idempotency_key))
        if idempotency_key in self._outcomes:
            return self._outcomes[idempotency_key]
        left = self.script.transient.get(step.id, 0)
        if left:
            self.script.transient[step.id] = left - 1
            raise TransientError("429 Too Many Requests")
        if step.id in self.script.refuse:
            raise PlatformError(self.script.refuse[step.id])
        outcome = self._write(step)
        self.writes.append(step.id)
        self._outcomes[idempotency_key] = outcome
        if step.id in self.script.lose_answer:
            self.script.lose_answer.discard(step.id)
            raise TransientError("timeout reading the answer")
        return outcome

    def _write(self, step: Step) -> StepOutcome:
        if step.action in ("order_licences", "return_licences"):
            self._order_seq += 1
            order_id = str(self._order_seq)
            delta = int((step.after or {})["quantity"]) - int((step.before or {})["quantity"])
            order = ChangeOrder(order_id, str(step.licence), delta, "submitted", date(2026, 1, 1))
            self.actual = replace(self.actual, orders=(*self.actual.orders, order))
            return StepOutcome("pending", order_id=order_id)
        if step.action == "confirm_order":
            order_id = str(step.params["order_id"])
            orders = []
            for o in self.actual.orders:
                if o.order_id == order_id:
                    if o.state != "approved":
                        raise PlatformError(f"order {order_id} is not approved ({o.state})")
                    o = replace(o, state="confirmed")
                orders.append(o)
            self.actual = replace(self.actual, orders=tuple(orders))
            return StepOutcome("done")
        if step.action == "create_user" and step.user is not None:
            user = ActualUser(step.user, f"u{step.user}", f"User {step.user}", "Basic")
            self.actual = replace(self.actual, users=(*self.actual.users, user))
        return StepOutcome("done", detail=f"{step.action} ok")


def account() -> ActualAccount:
    return ActualAccount(platform="ipecs-cloud", external_id="C1", name="Acme")


def account_plan(actual: ActualAccount, *steps: Step, slug: str = "acme") -> AccountPlan:
    zero = Decimal("0.00")
    return AccountPlan(
        account=slug,
        platform=actual.platform,
        external_id=actual.external_id,
        fingerprint=actual.fingerprint(),
        steps=tuple(steps),
        cost=Cost(zero, zero, zero),
    )
