"""Call2Teams catalog: subscription offers (SKUs) per user kind and volume tier.

Sources: seed 002 (C2TUx PBX users, T2TUx trunk users, C2TU-Ix internal users only for the
partner's own staff and only through a Service Desk request, C2TUT/T2TUT 30-day trials).
Tier thresholds 1, 25, 80, 250 follow the public examples (C2TU250, T2TU80, T2TU1).
Prices are SAMPLE list prices per licence per month.
"""

from __future__ import annotations

from decimal import Decimal as D

from reconciler.catalog import Catalog, Product

PLATFORM = "call2teams"

TIERS = (1, 25, 80, 250)
TRIAL_DAYS = 30  # seed: "expires after 30 days"

_PBX = {1: D("6.00"), 25: D("5.00"), 80: D("4.25"), 250: D("3.50")}
_TRUNK = {1: D("5.00"), 25: D("4.20"), 80: D("3.60"), 250: D("3.00")}
_INTERNAL = {1: D("2.00"), 25: D("2.00"), 80: D("1.80"), 250: D("1.50")}


def _tiered(
    prefix: str, kind: str, label: str, prices: dict[int, D], *, internal: bool = False
) -> dict[str, Product]:
    return {
        f"{prefix}{tier}": Product(
            key=f"{prefix}{tier}",
            display=f"{label} ({tier}+)",
            rank=rank,
            monthly=prices[tier],
            user_kind=kind,
            tier=tier,
            internal=internal,
        )
        for rank, tier in enumerate(TIERS, start=1)
    }


CATALOG = Catalog(
    platform=PLATFORM,
    products={
        **_tiered("C2TU", "pbx", "Standard PBX User", _PBX),
        **_tiered("T2TU", "trunk", "Standard Trunk User", _TRUNK),
        **_tiered("C2TU-I", "internal", "Internal User", _INTERNAL, internal=True),
        "C2TUT": Product("C2TUT", "Trial PBX User (30 days)", 0, D("0.00"),
                         user_kind="pbx", trial=True),
        "T2TUT": Product("T2TUT", "Trial Trunk User (30 days)", 0, D("0.00"),
                         user_kind="trunk", trial=True),
    },
)

USER_KINDS = ("pbx", "trunk", "internal")
