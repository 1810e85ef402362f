"""Call2Teams volume tiers: which SKU fits a quantity, and which one is cheaper for it.

A ``C2TU<n>`` / ``T2TU<n>`` / ``C2TU-I<n>`` SKU is priced for at least ``n`` licences (seed
002: "An x represents bulk licensing quantity"; public examples C2TU250, T2TU80). A
subscription below its tier's threshold is refused at validate (the platform would not sell
it at that tier); one that has reached a higher, cheaper tier is pointed out in the plan.
"""

from __future__ import annotations

from decimal import Decimal

from reconciler.catalog import Catalog, Product
from reconciler.money import fmt


def family(catalog: Catalog, product: Product) -> list[Product]:
    """The tiered SKUs serving the same kind of user as ``product`` (its family), by tier."""
    return sorted(
        (p for p in catalog.products.values()
         if p.tier is not None and not p.trial and p.user_kind == product.user_kind
         and p.internal == product.internal),
        key=lambda p: p.tier or 0,
    )


def fitting(catalog: Catalog, product: Product, quantity: int) -> Product | None:
    """The SKU of ``product``'s family that fits ``quantity``: the highest tier whose
    threshold the quantity reaches (assumed: higher tiers never cost more per licence)."""
    fits = [p for p in family(catalog, product) if (p.tier or 0) <= quantity]
    return fits[-1] if fits else None


def below_threshold(catalog: Catalog, key: str, quantity: int) -> str | None:
    """Why ``quantity`` licences of ``key`` cannot be sold at its tier, or None.

    Internal-use SKUs (C2TU-I) are exempt (assumed): they are granted "upon application"
    through the Service Desk (seed 002) at the rate agreed there, not bought by tier."""
    product = catalog.product(key)
    if (product is None or product.tier is None or product.trial or product.internal
            or quantity <= 0):
        return None
    if quantity >= product.tier:
        return None
    fit = fitting(catalog, product, quantity)
    use = f"; use {fit.key} for {quantity}" if fit is not None else ""
    return (f"{key} is the {product.tier}+ tier: {quantity} licence"
            f"{'s' if quantity != 1 else ''} are below its threshold of {product.tier}{use}")


def cheaper_tier(catalog: Catalog, key: str, quantity: int) -> str | None:
    """A note when another tier of ``key``'s family bills ``quantity`` licences for less,
    with the monthly saving, or None."""
    product = catalog.product(key)
    if product is None or product.tier is None or product.trial or quantity <= 0:
        return None
    now = product.monthly * quantity
    best: tuple[Decimal, Product] | None = None
    for other in family(catalog, product):
        if other.key == key or (other.tier or 0) > quantity:
            continue
        total = other.monthly * quantity
        if total < now and (best is None or total < best[0]):
            best = (total, other)
    if best is None:
        return None
    total, other = best
    return (
        f"cheaper tier: {quantity} licences of {key} bill {fmt(now)} {catalog.currency}/month; "
        f"on {other.key} ({other.tier}+) they would bill {fmt(total)}, saving "
        f"{fmt(now - total)} {catalog.currency}/month (order {other.key} for the full count, "
        f"move the users, return {key})"
    )
