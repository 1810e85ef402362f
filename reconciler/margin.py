"""Cost, price and margin: what the partner pays the vendor, what it charges the customer.

The catalog's prices (the price book's ``monthly`` / ``cost``) are the partner's cost: what
the platform bills. A customer's price of a product or add-on is, in this order, its
``price`` in the price book, its cost plus the account's ``pricing.markup`` or the price
book's ``platforms.<platform>.markup`` (percent on cost, rounded to the cent per licence),
or, with neither, its cost (assumed: resold at cost, no margin). Revenue is the same bill
as the cost side, computed by the platform's own bill at the customer's prices; margin is
revenue minus cost. One-time charges are passed on at cost (assumed).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

from reconciler.catalog import AddOn, Catalog, Product
from reconciler.money import CENT


def markup_for(catalog: Catalog, account_markup: Decimal | None) -> Decimal | None:
    """The markup in force: the account's own, else the price book's for the platform."""
    return account_markup if account_markup is not None else catalog.markup


def _selling(item: Product | AddOn, markup: Decimal | None) -> Decimal:
    if item.price is not None:
        return item.price
    if markup is None:
        return item.monthly
    return (item.monthly * (100 + markup) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def customer_catalog(catalog: Catalog, markup: Decimal | None) -> Catalog | None:
    """``catalog`` at the customer's monthly prices, or None when the price book gives no
    customer price at all (no ``price``, no markup): revenue and margin are then unknown."""
    priced = any(p.price is not None for p in catalog.products.values()) or any(
        a.price is not None for a in catalog.add_ons.values())
    if markup is None and not priced:
        return None
    return replace(
        catalog,
        products={k: replace(p, monthly=_selling(p, markup)) for k, p in catalog.products.items()},
        add_ons={k: replace(a, monthly=_selling(a, markup)) for k, a in catalog.add_ons.items()},
    )
