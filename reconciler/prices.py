"""Which prices a plan uses, and which of them are the shipped samples.

A plan prices the state on the platform (monthly_before), the state after it
(monthly_after) and its steps; every product and add-on those name is a price the plan
uses. Each is either the partner's (pricebook.yaml) or a SAMPLE list price: plans say which,
per step and in the summary ("prices: 7 of 9 from samples"). Samples are in
:data:`~reconciler.catalog.SAMPLE_CURRENCY`; a price book in another currency must price
every item a plan uses, or the plan is refused (a sample is never relabelled).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.catalog import SAMPLE_CURRENCY, Catalog, item_name
from reconciler.errors import InputError
from reconciler.model import ActualAccount
from reconciler.money import fmt
from reconciler.plan import AccountPlan, Cost, Step

#: steps that change no price (only a record's fields or a pending order's state)
_UNPRICED_ACTIONS = ("update_user", "renumber_user", "confirm_order")


def _record_items(rec: Mapping[str, Any], catalog: Catalog) -> set[str]:
    items: set[str] = set()
    for key in ("profile", "licence"):
        value = rec.get(key)
        if isinstance(value, str) and value in catalog.products:
            items.add(value)
    add_ons = list(rec.get("add_ons") or ())
    if isinstance(rec.get("add_on"), str):
        add_ons.append(rec["add_on"])
    items.update(item_name(a, add_on=True) for a in add_ons if a in catalog.add_ons)
    return items


def state_items(state: ActualAccount, catalog: Catalog) -> set[str]:
    """The products and add-ons a state's bill can name: users' profiles, licences and
    add-ons, the pool's or subscriptions' keys."""
    users = state.users
    products, add_ons = catalog.products, catalog.add_ons
    # each distinct name once (a state has few): what _record_items finds per user
    named = {u.profile for u in users} | {u.licence for u in users}
    items = {n for n in named if isinstance(n, str) and n in products}
    taken: set[str] = set().union(*(u.add_ons for u in users))
    items.update(item_name(a, add_on=True) for a in taken if a in add_ons)
    items.update(lic.key for lic in state.licences if lic.key in products)
    return items


def step_items(step: Step, catalog: Catalog) -> set[str]:
    """The products and add-ons whose price a step's money comes from."""
    if step.action in _UNPRICED_ACTIONS:
        return set()
    items = _record_items(step.before or {}, catalog) | _record_items(step.after or {}, catalog)
    if step.licence is not None and step.licence in catalog.products:
        items.add(step.licence)
    return items


def samples(items: Iterable[str], catalog: Catalog) -> tuple[str, ...]:
    """Those of ``items`` still priced by the shipped samples, sorted."""
    return tuple(sorted(i for i in items if _is_sample(i, catalog)))


def _is_sample(key: str, catalog: Catalog) -> bool:
    item = catalog.price_item(key)
    return item is not None and item.sample


def unpriced_in_currency(plans: Sequence[AccountPlan],
                         catalogs: Mapping[str, Catalog]) -> InputError | None:
    """The refusal of a plan that needs a sample price while the price book is in another
    currency than the samples (one line at the book's ``currency:``), or None."""
    missing: dict[str, set[str]] = {}
    for p in plans:
        catalog = catalogs[p.platform]
        if catalog.currency != SAMPLE_CURRENCY and p.cost.prices_sample:
            missing.setdefault(p.platform, set()).update(p.cost.prices_sample)
    if not missing:
        return None
    some = next(catalogs[k] for k in sorted(missing))
    listed = "; ".join(f"{platform}: {', '.join(sorted(keys))}"
                       for platform, keys in sorted(missing.items()))
    return InputError(
        f"currency {some.currency}: the plan uses prices this price book does not give "
        f"({listed}); the samples are {SAMPLE_CURRENCY} and are never relabelled as "
        f"{some.currency}: price them here",
        some.currency_mark,
    )


def bill_warning(cost: Cost, foreign: ActualAccount | None = None) -> tuple[str, ...]:
    """The warning of a plan whose platform bills otherwise than the price book says
    (``foreign``: the state read, whose bill is in another currency than the book's)."""
    if foreign is not None and foreign.billed_monthly is not None:
        return (f"the platform bills {fmt(foreign.billed_monthly)} {foreign.billed_currency}; "
                f"your price book is in {cost.currency}, so the bill is not compared",)
    if not cost.bill_differs or cost.estimate_before is None:
        return ()
    return (f"the platform bills {fmt(cost.monthly_before)}; your price book says "
            f"{fmt(cost.estimate_before)}: check pricebook.yaml",)
