"""What a platform sells: products (profile types, packages, SKUs), add-ons, included
features, and prices. Each platform package defines its catalog with *sample* list prices
(none are public); a partner's ``pricebook.yaml`` overrides any of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from reconciler.model import Mark
from reconciler.money import ZERO

#: the currency of the shipped sample list prices
SAMPLE_CURRENCY = "USD"


@dataclass(frozen=True)
class Product:
    """A profile type (Mitel), package (iPECS) or SKU (Call2Teams)."""

    key: str
    display: str
    rank: int
    monthly: Decimal
    one_time: Decimal = ZERO
    #: features included in the price (lost on a downgrade)
    included: frozenset[str] = frozenset()
    #: add-on keys this product may carry
    add_ons: frozenset[str] = frozenset()
    #: Call2Teams: the user kind a licence serves (pbx | trunk | internal)
    user_kind: str | None = None
    #: Call2Teams: the volume tier threshold (C2TU25 -> 25)
    tier: int | None = None
    trial: bool = False
    internal: bool = False
    #: True while its price is the shipped sample, not the partner's price book
    sample: bool = True
    #: the customer's monthly price (price book ``price``); None: cost plus markup
    price: Decimal | None = None


@dataclass(frozen=True)
class AddOn:
    key: str
    display: str
    monthly: Decimal
    one_time: Decimal = ZERO
    #: other add-ons this one needs on the same user
    requires: frozenset[str] = frozenset()
    #: True while its price is the shipped sample, not the partner's price book
    sample: bool = True
    #: the customer's monthly price (price book ``price``); None: cost plus markup
    price: Decimal | None = None


@dataclass(frozen=True)
class Catalog:
    platform: str
    products: Mapping[str, Product]
    add_ons: Mapping[str, AddOn] = field(default_factory=dict)
    #: included feature key -> display name
    features: Mapping[str, str] = field(default_factory=dict)
    currency: str = "USD"
    #: True while any price is still a shipped sample rather than the partner's price book
    sample_prices: bool = True
    #: where the price book sets ``currency:`` (a plan that needs a sample price in another
    #: currency is refused there)
    currency_mark: Mark | None = field(default=None, compare=False)
    #: percent on cost the partner charges customers (price book ``markup``)
    markup: Decimal | None = None

    def price_item(self, key: str) -> Product | AddOn | None:
        """The product or add-on a priced item name (:func:`item_name`) stands for."""
        if key.startswith(ADD_ON_PREFIX):
            return self.add_ons.get(key[len(ADD_ON_PREFIX):])
        return self.products.get(key)

    def product(self, key: str) -> Product | None:
        return self.products.get(key)

    def by_rank(self) -> list[Product]:
        return sorted(self.products.values(), key=lambda p: p.rank)

    def is_downgrade(self, old: str, new: str) -> bool:
        a, b = self.products.get(old), self.products.get(new)
        return a is not None and b is not None and b.rank < a.rank

    def features_lost(self, old: str, new: str) -> list[str]:
        """Display names of the included features ``old`` has and ``new`` has not."""
        a, b = self.products[old], self.products[new]
        return [self.features.get(f, f) for f in sorted(a.included - b.included)]

    def add_ons_not_allowed(self, profile: str, add_ons: Iterable[str]) -> list[str]:
        allowed = self.products[profile].add_ons
        return sorted(a for a in add_ons if a not in allowed)

    def with_prices(self, overrides: Mapping[str, object], currency: str | None = None) -> Catalog:
        """A copy with prices from a price book section::

            {"products": {key: {"monthly": Decimal, "one_time": Decimal}},
             "add_ons": {key: {...}}}
        Unknown keys must have been refused by validation before this is called.
        """
        products = dict(self.products)
        add_ons = dict(self.add_ons)
        prod_over = overrides.get("products", {}) or {}
        addon_over = overrides.get("add_ons", {}) or {}
        assert isinstance(prod_over, Mapping) and isinstance(addon_over, Mapping)
        for key, price in prod_over.items():
            products[key] = replace(products[key], **dict(price))
            products[key] = replace(products[key], sample=_still_sample(self.products[key], price))
        for key, price in addon_over.items():
            add_ons[key] = replace(add_ons[key], **dict(price))
            add_ons[key] = replace(add_ons[key], sample=_still_sample(self.add_ons[key], price))
        return replace(
            self,
            products=products,
            add_ons=add_ons,
            currency=currency or self.currency,
            sample_prices=False,
        )


#: how an add-on is named among priced items ("add-on fax"); products go by their key
ADD_ON_PREFIX = "add-on "


def item_name(key: str, *, add_on: bool = False) -> str:
    return f"{ADD_ON_PREFIX}{key}" if add_on else key


def _still_sample(item: Product | AddOn, price: Mapping[str, object]) -> bool:
    """An item keeps a sample price unless the book gives its monthly price, and its
    one-time price too where the sample has one (assumed: a zero sample is no price)."""
    if "monthly" not in price:
        return True
    return item.one_time != ZERO and "one_time" not in price


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean "profile"?)' or '' — appended to unknown-name messages."""
    pool = list(choices)
    lowered = {c.lower(): c for c in pool}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return f' (did you mean "{lowered[word.lower()]}"?)'
    close = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        close = [lowered[c] for c in close]
    return f' (did you mean "{close[0]}"?)' if close else ""
