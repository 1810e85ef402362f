"""``reconciler report``: the fleet view, per customer and per platform, from live state.

Per account: licences held against licences used (an idle licence is still billed: iPECS
pool seats no user holds, a Call2Teams subscription's quantity above its users), the
monthly money those idle licences waste, the monthly cost (the platform's bill), revenue
and margin (the price book's customer prices), trials ending in the next 30 days, pending
change orders and Service Desk requests (the plan's manual steps). The same orchestration
as ``plan`` reads each account (reconciler.planner.make_plan); this module only counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from reconciler.catalog import Catalog
from reconciler.config import Config
from reconciler.model import ActualAccount, DesiredAccount
from reconciler.money import ZERO, fmt
from reconciler.plan import AccountPlan
from reconciler.platforms import PLATFORMS

#: trials ending within this many days are listed
TRIAL_HORIZON_DAYS = 30


def _licences(actual: ActualAccount, catalog: Catalog) -> list[dict[str, Any]]:
    """Per pool licence (iPECS package, Call2Teams subscription): held, used, idle, waste.
    A platform without pools (Mitel bills per user) has none: nothing sits idle."""
    field = PLATFORMS[actual.platform].pool_field
    if field is None:
        return []
    rows = []
    for lic in actual.licences:
        if not lic.active:
            continue
        used = sum(1 for u in actual.users if getattr(u, field) == lic.key)
        idle = max(lic.quantity - used, 0)
        product = catalog.product(lic.key)
        price = product.monthly if product is not None else ZERO
        rows.append({"licence": lic.key, "held": lic.quantity, "used": used, "idle": idle,
                     "waste": idle * price})
    return rows


def _trials(actual: ActualAccount, catalog: Catalog) -> list[dict[str, Any]]:
    days = PLATFORMS[actual.platform].trial_days
    out = []
    for lic in actual.licences:
        product = catalog.product(lic.key)
        if days is None or product is None or not product.trial or lic.started_on is None:
            continue
        ends = lic.started_on + timedelta(days=days)
        left = (ends - actual.today).days
        if lic.active and 0 <= left <= TRIAL_HORIZON_DAYS:
            out.append({"licence": lic.key, "quantity": lic.quantity,
                        "ends_on": ends.isoformat(), "days_left": left})
    return out


def account_report(desired: DesiredAccount, actual: ActualAccount, plan: AccountPlan,
                   catalog: Catalog) -> dict[str, Any]:
    """One account's line of the report: money as Decimal (see :func:`as_json`)."""
    licences = _licences(actual, catalog)
    cost = plan.cost
    return {
        "account": desired.slug,
        "customer": desired.name or actual.name or desired.slug,
        "platform": desired.platform,
        "platform_label": PLATFORMS[desired.platform].label,
        "external_id": desired.external_id,
        "currency": cost.currency,
        "users": len(actual.users),
        "held": sum(r["held"] for r in licences) if licences else len(actual.users),
        "used": sum(r["used"] for r in licences) if licences else len(actual.users),
        "idle": sum(r["idle"] for r in licences),
        "waste": sum((r["waste"] for r in licences), ZERO),
        "licences": licences,
        "cost": cost.monthly_before,
        "revenue": cost.revenue_before,
        "margin": cost.margin_before if cost.revenue_before is not None else None,
        "trials_ending": _trials(actual, catalog),
        "pending_orders": [
            {"order_id": o.order_id, "licence": o.licence, "delta": o.delta, "state": o.state,
             "submitted_on": o.submitted_on.isoformat()}
            for o in actual.orders if o.pending
        ],
        "service_desk": [
            {"step": s.id, "target": s.target, "request": str(s.params.get("request", ""))}
            for s in plan.steps if s.mode == "manual"
        ],
    }


def _add(total: dict[str, Any], row: dict[str, Any]) -> None:
    for key in ("users", "held", "used", "idle"):
        total[key] += row[key]
    for key in ("waste", "cost"):
        total[key] += row[key]
    for key in ("revenue", "margin"):
        if row[key] is not None:
            total[key] = (total[key] or ZERO) + row[key]


def _blank(**head: Any) -> dict[str, Any]:
    return {**head, "accounts": 0, "users": 0, "held": 0, "used": 0, "idle": 0, "waste": ZERO,
            "cost": ZERO, "revenue": None, "margin": None}


def build_report(rows: Sequence[dict[str, Any]], generated_on: str) -> dict[str, Any]:
    """Accounts, per-platform and fleet totals (per currency: amounts in different
    currencies are never added)."""
    platforms: dict[tuple[str, str], dict[str, Any]] = {}
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = (row["platform"], row["currency"])
        p = platforms.setdefault(key, _blank(platform=row["platform"],
                                             platform_label=row["platform_label"],
                                             currency=row["currency"]))
        t = totals.setdefault(row["currency"], _blank(currency=row["currency"]))
        for agg in (p, t):
            agg["accounts"] += 1
            _add(agg, row)
    return {
        "format_version": 1,
        "generated_on": generated_on,
        "trial_horizon_days": TRIAL_HORIZON_DAYS,
        "accounts": list(rows),
        "platforms": [platforms[k] for k in sorted(platforms)],
        "totals": [totals[c] for c in sorted(totals)],
    }


def as_json(data: Any) -> Any:
    """Money as two-place strings, everything else as it is."""
    if isinstance(data, Decimal):
        return fmt(data)
    if isinstance(data, dict):
        return {k: as_json(v) for k, v in data.items()}
    if isinstance(data, list):
        return [as_json(v) for v in data]
    return data


def make_report(paths: Sequence[str], config: Config) -> dict[str, Any]:
    """Read every account under ``paths`` from its platform and count (JSON-ready data)."""
    from reconciler.planner import make_plan
    from reconciler.pricebook import load_catalogs

    catalogs = load_catalogs(config)
    # accounts are read in parallel: rows keyed by account, put in the plan's order after
    rows: dict[str, dict[str, Any]] = {}
    today: list[str] = []

    def observe(desired: DesiredAccount, actual: ActualAccount, plan: AccountPlan) -> None:
        rows[desired.slug] = account_report(desired, actual, plan, catalogs[desired.platform])
        today.append(actual.today.isoformat())

    plan = make_plan(paths, config, observe=observe)
    ordered = [rows[a.account] for a in plan.accounts]
    return as_json(build_report(ordered, max(today) if today else ""))
