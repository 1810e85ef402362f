"""The partner's price book (``pricebook.yaml``) and the catalogs at its prices.

The catalogs ship SAMPLE list prices (no vendor publishes prices); any price in the price
book replaces the sample. Unknown platforms, products and add-ons are refused with "did you
mean" at ``file:line:col``, so a typo never leaves a sample price silently in force.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from reconciler.catalog import Catalog
from reconciler.config import DEFAULT_PRICEBOOK, Config
from reconciler.errors import InputError, ValidationFailed
from reconciler.model import Mark
from reconciler.money import money
from reconciler.platforms import PLATFORMS
from reconciler.platforms.common_rules import unknown
from reconciler.schema import load_document
from reconciler.yamlload import MarkedDict

__all__ = ["PriceBook", "load_catalogs", "load_pricebook", "pricebook_path"]

#: price overrides of one platform: {"products": {key: {"monthly": D, ...}}, "add_ons": {...}}
Section = Mapping[str, Mapping[str, Mapping[str, Decimal]]]


@dataclass(frozen=True)
class PriceBook:
    currency: str = "USD"
    #: platform -> section, in the shape Catalog.with_prices takes
    platforms: Mapping[str, Section] = field(default_factory=dict)
    source: str | None = None
    #: where the file says ``currency:``
    currency_mark: Mark | None = None
    #: platform -> percent on cost for customer prices (``platforms.<p>.markup``)
    markups: Mapping[str, Decimal] = field(default_factory=dict)

    def apply(self, catalog: Catalog) -> Catalog:
        """``catalog`` at this book's prices; still ``sample_prices`` if any product or
        add-on kept its sample price."""
        section = self.platforms.get(catalog.platform, {})
        priced = catalog.with_prices(section, currency=self.currency)
        sample = any(p.sample for p in priced.products.values()) or any(
            a.sample for a in priced.add_ons.values()
        )
        return replace(priced, sample_prices=sample, currency_mark=self.currency_mark,
                       markup=self.markups.get(catalog.platform))


def load_pricebook(path: str | os.PathLike[str], *, display_name: str | None = None) -> PriceBook:
    """Read and check a price book; raises :class:`ValidationFailed` with every error."""
    name = display_name if display_name is not None else os.fspath(path)
    doc = load_document(path, "pricebook", display_name=name)
    errors: list[InputError] = []
    sections: dict[str, Section] = {}
    markups: dict[str, Decimal] = {}
    for platform, raw in (doc.get("platforms") or {}).items():
        if raw.get("markup") is not None:
            markups[platform] = Decimal(str(raw["markup"]))
        catalog = PLATFORMS[platform].catalog
        section: dict[str, dict[str, dict[str, Decimal]]] = {}
        for part, known, what in (
            ("products", catalog.products, PLATFORMS[platform].product_noun),
            ("add_ons", catalog.add_ons, "add-on"),
        ):
            entries: MarkedDict = raw.get(part) or MarkedDict()
            prices: dict[str, dict[str, Decimal]] = {}
            for key, price in entries.items():
                if key not in known:
                    extra = f"; {PLATFORMS[platform].label} has no add-ons" if not known else ""
                    errors.append(unknown(what, str(key), known, entries.key_marks[key], extra))
                    continue
                # ``cost`` is ``monthly`` by its margin name: what the vendor bills
                prices[key] = {("monthly" if k == "cost" else k): money(v)
                               for k, v in price.items()}
            section[part] = prices
        sections[platform] = section
    if errors:
        raise ValidationFailed(errors)
    mark = doc.key_marks.get("currency") if "currency" in doc else None
    return PriceBook(currency=doc.get("currency", "USD"), platforms=sections, source=name,
                     currency_mark=mark or Mark(name, 1, 1), markups=markups)


def pricebook_path(config: Config) -> Path | None:
    """The price book in force: reconciler.yaml's ``pricebook``, else ``pricebook.yaml``
    next to reconciler.yaml (the current directory without one) if it exists."""
    if config.pricebook_path is not None:
        return config.pricebook_path
    default = Path(config.root) / DEFAULT_PRICEBOOK
    return default if default.exists() else None


def load_catalogs(config: Config | None = None) -> dict[str, Catalog]:
    """Every platform's catalog at the price book's prices (the samples without one)."""
    config = config or Config()
    path = pricebook_path(config)
    catalogs = {name: platform.catalog for name, platform in PLATFORMS.items()}
    if path is None:
        return catalogs
    if config.pricebook_path is not None:
        # a price book reconciler.yaml names but we cannot open is a mistake in
        # reconciler.yaml: point at the line that names it
        problem = _unreadable(path)
        if problem:
            error = f"price book {_display(path)} {problem}"
            mark = config.pricebook_mark
            raise ValidationFailed(
                [InputError(error, mark) if mark else InputError(error, file=config.source)]
            )
    book = load_pricebook(path, display_name=_display(path))
    return {name: book.apply(catalog) for name, catalog in catalogs.items()}


def _unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be read as a price book, or None when it can."""
    if not path.exists():
        return "does not exist"
    try:
        with open(path, "rb"):
            pass
    except IsADirectoryError:
        return "cannot be read: is a directory, not a YAML file"
    except PermissionError:
        return "cannot be read: permission denied"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    return None


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)

