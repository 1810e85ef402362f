"""A plan's summary, added to account by account: what every format says of the whole
plan (its counts, money per currency, prices, margin), computed once whether the plan is
rendered whole (``render.view.view``) or account by account (``render.stream``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from reconciler.money import ZERO, fmt, signed
from reconciler.plan import AccountPlan, PlanTotals


class Summary:
    """The plan's summary, added to account by account: its running totals
    (:class:`~reconciler.plan.PlanTotals`) and what the account views count. The one
    computation behind every format's summary (:func:`view`, the streamed writers)."""

    def __init__(self) -> None:
        self.totals = PlanTotals()
        self.counts = {"add": 0, "change": 0, "remove": 0, "manual": 0}
        self.warnings = 0
        self.unmanaged = 0

    def add(self, acct: AccountPlan, data: dict[str, Any]) -> None:
        """``data``: the account's view (:func:`account_view`)."""
        self.totals.add(acct)
        for k, n in data["counts"].items():
            self.counts[k] += n
        self.warnings += data["warning_count"]
        self.unmanaged += len(data["unmanaged"])

    def view(self) -> dict[str, Any]:
        t = self.totals
        margins = t.margins()
        return {
            "accounts": t.accounts,
            "steps": t.steps,
            **self.counts,
            # monthly delta and one-time per currency (accounts may be priced in different ones)
            "totals": [
                {"currency": c, "monthly_delta": signed(t.monthly[c]), "one_time": fmt(t.once[c])}
                for c in sorted(t.monthly)
            ] or [{"currency": "USD", "monthly_delta": signed(ZERO), "one_time": fmt(ZERO)}],
            "blocked": t.blocked,
            "warnings": self.warnings,
            "has_changes": t.has_changes,
            "unmanaged": self.unmanaged,
            "prices": prices_text(len(t.used), len(t.sample)),
            "sample_prices": bool(t.sample),
            # revenue and margin change of the accounts with customer prices (None: none has)
            "margin": {"revenue_delta": signed(Decimal(margins["revenue_delta"])),
                       "margin_delta": signed(Decimal(margins["margin_delta"])),
                       "margin_after": margins["margin_after"]} if margins else None,
        }


def prices_text(used: int, from_samples: int) -> str:
    """ "7 of 9 from samples" / "all 9 from the price book" / "" (no prices used)."""
    if not used:
        return ""
    if not from_samples:
        return f"all {used} from the price book"
    return f"{from_samples} of {used} from samples"
