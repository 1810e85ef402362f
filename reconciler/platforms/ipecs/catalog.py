"""iPECS Cloud catalog: user packages, highest to lowest by rank.

Sources: seed 001 (package names, licence counts per package, change orders, the
extension rule "Min 100 ~ Max 299", the user fields). Prices are SAMPLE list prices.
"""

from __future__ import annotations

from decimal import Decimal as D

from reconciler.catalog import Catalog, Product

PLATFORM = "ipecs-cloud"

# Lowest to highest (seed order of the Change Package dialog; PRODUCT.md §1).
LADDER = (
    "Stand Alone VM",
    "Basic User With VM",
    "Premium iPECS ONE USER",
    "Premium PLUS iPECS ONE USER",
)

FEATURES = {
    "voicemail": "Voicemail",
    "desk-phone": "Desk phone extension",
    "ipecs-one": "iPECS ONE desktop and mobile app",
    "video": "iPECS ONE video meetings",
}

# (assumed) Included features per package: the names imply voicemail on all, a phone
# extension from Basic up, the iPECS ONE client from Premium up, video on Premium PLUS.
_INCLUDED = {
    "Stand Alone VM": frozenset(("voicemail",)),
    "Basic User With VM": frozenset(("voicemail", "desk-phone")),
    "Premium iPECS ONE USER": frozenset(("voicemail", "desk-phone", "ipecs-one")),
    "Premium PLUS iPECS ONE USER": frozenset(("voicemail", "desk-phone", "ipecs-one", "video")),
}

# SAMPLE monthly price per licence in the pool (assigned or not: a licence is billed until
# a change order returns it).
_MONTHLY = {
    "Stand Alone VM": D("4.00"),
    "Basic User With VM": D("14.00"),
    "Premium iPECS ONE USER": D("22.00"),
    "Premium PLUS iPECS ONE USER": D("28.00"),
}

CATALOG = Catalog(
    platform=PLATFORM,
    products={
        key: Product(key=key, display=key, rank=rank, monthly=_MONTHLY[key],
                     included=_INCLUDED[key])
        for rank, key in enumerate(LADDER)
    },
    features=FEATURES,
)

#: The seed's numbering rule for a site: "Rule Number, Min 100 ~ Max 299".
DEFAULT_EXTENSIONS = (100, 299)
