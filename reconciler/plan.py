"""The plan: ordered steps with costs, warnings and verdicts, per account.

Steps are frozen and carry everything apply needs; ``to_json``/``from_json`` are the saved
plan format (``schemas/plan.schema.json``). Money is Decimal here and a two-place string on
the wire.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from reconciler.money import ZERO, fmt

#: 2: a plan carries its own ``digest``, the ``options`` it was made with and, per account,
#: the ``source`` it was made from (digests of the files, the commit)
FORMAT_VERSION = 2

ACTIONS = (
    "create_user",
    "update_user",
    "renumber_user",
    "change_profile",
    "replace_user",
    "add_addon",
    "remove_addon",
    "delete_user",
    "order_licences",
    "return_licences",
    "confirm_order",
    "manual",
)
MODES = ("auto", "approval", "manual")


@dataclass(frozen=True)
class Step:
    """One platform write (or a manual instruction).

    ``before``/``after`` are plain JSON dicts describing the target, e.g. for
    ``change_profile`` ``{"profile": "standard", "add_ons": ["fax"]}``, for
    ``order_licences`` ``{"quantity": 3}``. ``params`` holds anything else apply must pass
    to the platform (the full user record of a ``create_user``, the ``order_id`` of a
    ``confirm_order``, the Service Desk ``request`` of a ``manual`` step).
    """

    id: str
    action: str
    user: int | None = None
    licence: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    monthly_delta: Decimal = ZERO
    one_time: Decimal = ZERO
    mode: str = "auto"
    depends_on: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: the platform's own word for the step ("Swap", "Change Package", "Amend Subscription")
    label: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    #: the user's display name, for rendered plans only (apply and providers ignore it)
    name: str = ""
    #: products / add-ons ("add-on fax") whose SAMPLE price this step's money uses
    sample_prices: tuple[str, ...] = ()
    #: how the step changes what the customer is charged monthly (None: no customer
    #: prices); ``monthly_delta`` is the partner's cost side
    revenue_delta: Decimal | None = None

    @property
    def margin_delta(self) -> Decimal | None:
        return None if self.revenue_delta is None else self.revenue_delta - self.monthly_delta

    @property
    def target(self) -> str:
        return str(self.user) if self.user is not None else str(self.licence)


@dataclass(frozen=True)
class Verdict:
    policy: str  # downgrade | prune | budget | internal-sku | destructive-share
    message: str
    #: a verdict that blocks (exit 1) or only warns ("prune not allowed" warns)
    blocking: bool = True


@dataclass(frozen=True)
class Cost:
    monthly_before: Decimal
    monthly_after: Decimal
    one_time: Decimal
    currency: str = "USD"
    #: every product / add-on ("add-on fax") the plan prices: bill before, after, steps
    prices_used: tuple[str, ...] = ()
    #: those of them priced by the shipped samples, not the price book
    prices_sample: tuple[str, ...] = ()
    #: the price book's estimate of the bill now, when ``monthly_before`` is the bill the
    #: platform itself reported (None: the platform reports none; monthly_before is this)
    estimate_before: Decimal | None = None
    #: what the customer is charged monthly now and after the plan, at the price book's
    #: customer prices (``price`` / markup); None when it gives none
    revenue_before: Decimal | None = None
    revenue_after: Decimal | None = None

    @property
    def priced(self) -> bool:
        """The price book gives customer prices: revenue and margin are known."""
        return self.revenue_before is not None and self.revenue_after is not None

    @property
    def margin_before(self) -> Decimal:
        return (self.revenue_before or ZERO) - self.monthly_before

    @property
    def margin_after(self) -> Decimal:
        return (self.revenue_after or ZERO) - self.monthly_after

    @property
    def bill_differs(self) -> bool:
        """The platform bills otherwise than the price book says it should."""
        return self.estimate_before is not None and self.estimate_before != self.monthly_before

    @property
    def monthly_delta(self) -> Decimal:
        return self.monthly_after - self.monthly_before


@dataclass(frozen=True)
class AccountPlan:
    account: str
    platform: str
    external_id: str
    #: of the live state the plan was made from (``ActualAccount.fingerprint``); None in a
    #: plan only shown as text, never saved nor applied (``Session(fingerprints=False)``)
    fingerprint: str | None
    steps: tuple[Step, ...]
    cost: Cost
    warnings: tuple[str, ...] = ()
    blocked: tuple[Verdict, ...] = ()
    #: users on the platform the file does not list: {"extension", "name", "profile"}
    unmanaged: tuple[Mapping[str, Any], ...] = ()
    path: str = ""
    #: what the platform changed by itself that no step can undo (an expired trial), in
    #: words for the reviewer; ``drift`` reports these besides the steps
    drift: tuple[str, ...] = ()
    #: the desired state the plan was made from: digests of the account file, reconciler.yaml
    #: and the price book (None: there was none) and the git commit (reconciler/review.py)
    source: Mapping[str, str | None] | None = None

    @property
    def is_blocked(self) -> bool:
        return any(v.blocking for v in self.blocked)

    @property
    def has_changes(self) -> bool:
        return bool(self.steps)


@dataclass(frozen=True)
class Plan:
    accounts: tuple[AccountPlan, ...]
    created_at: str = field(
        default_factory=lambda: datetime.now(UTC).replace(microsecond=0).isoformat()
    )
    format_version: int = FORMAT_VERSION
    #: the git commit the plan was made from: {"ref": "origin/main", "commit": "<sha>"}
    #: (``plan --base-ref``); a reviewer is told when that branch has moved since
    base: Mapping[str, str] | None = None
    #: the planning options it was made with ({"allow_downgrade": .., "force": ..}); apply
    #: makes the plan again with the same ones
    options: Mapping[str, bool] | None = None
    #: what this run read from, for the text plan's first line: the config, the price book
    #: and each platform's provider ({"config": ..., "price book": ..., platform: label}).
    #: Not part of a saved plan (a run's fact, not the plan's)
    using: Mapping[str, str] | None = field(default=None, compare=False)

    @property
    def is_blocked(self) -> bool:
        return any(a.is_blocked for a in self.accounts)

    @property
    def has_changes(self) -> bool:
        return any(a.has_changes for a in self.accounts)

    def summary(self) -> dict[str, Any]:
        return PlanTotals.of(self.accounts).summary()

    def margins(self) -> dict[str, str]:
        """Revenue and margin change over the accounts with customer prices (none: {})."""
        return PlanTotals.of(self.accounts).margins()

    def prices(self) -> dict[str, int]:
        """How many distinct prices (platform, item) the plan uses, and how many of them
        are shipped samples: "prices: 7 of 9 from samples"."""
        return PlanTotals.of(self.accounts).prices()

    def only(self, slug: str) -> Plan:
        return replace(self, accounts=tuple(a for a in self.accounts if a.account == slug))


class PlanTotals:
    """A plan's running totals, added to account by account: what its summary says, kept
    without keeping the accounts (a plan is rendered as each account is made)."""

    def __init__(self) -> None:
        self.accounts = 0
        self.steps = 0
        self.blocked = 0
        self.has_changes = False
        #: monthly delta and one-time per currency
        self.monthly: dict[str, Decimal] = {}
        self.once: dict[str, Decimal] = {}
        self.used: set[tuple[str, str]] = set()
        self.sample: set[tuple[str, str]] = set()
        self.priced = False
        self.revenue_delta = ZERO
        self.margin_delta = ZERO
        self.margin_after = ZERO

    @classmethod
    def of(cls, accounts: Iterable[AccountPlan]) -> PlanTotals:
        totals = cls()
        for a in accounts:
            totals.add(a)
        return totals

    def add(self, a: AccountPlan) -> None:
        self.accounts += 1
        self.steps += len(a.steps)
        self.blocked += a.is_blocked
        self.has_changes = self.has_changes or a.has_changes
        c = a.cost
        self.monthly[c.currency] = self.monthly.get(c.currency, ZERO) + c.monthly_delta
        self.once[c.currency] = self.once.get(c.currency, ZERO) + c.one_time
        self.used.update((a.platform, i) for i in c.prices_used)
        self.sample.update((a.platform, i) for i in c.prices_sample)
        if c.priced:
            self.priced = True
            self.revenue_delta += (c.revenue_after or ZERO) - (c.revenue_before or ZERO)
            self.margin_delta += c.margin_after - c.margin_before
            self.margin_after += c.margin_after

    def summary(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "steps": self.steps,
            "monthly_delta": fmt(sum(self.monthly.values(), ZERO)),
            "one_time": fmt(sum(self.once.values(), ZERO)),
            "blocked": self.blocked,
            "prices": self.prices(),
            **self.margins(),
        }

    def margins(self) -> dict[str, str]:
        if not self.priced:
            return {}
        return {"revenue_delta": fmt(self.revenue_delta), "margin_delta": fmt(self.margin_delta),
                "margin_after": fmt(self.margin_after)}

    def prices(self) -> dict[str, int]:
        return {"used": len(self.used), "from_samples": len(self.sample)}
