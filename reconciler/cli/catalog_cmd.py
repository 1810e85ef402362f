"""``reconciler catalog``: what each platform sells, at the price book's prices."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import click

from reconciler.catalog import SAMPLE_CURRENCY, AddOn, Catalog, Product
from reconciler.config import load_config
from reconciler.errors import ExitCode
from reconciler.money import fmt
from reconciler.platforms import PLATFORMS
from reconciler.pricebook import load_catalogs

from .options import config_option, format_option

SAMPLE_LABEL = "SAMPLE list prices — override them in pricebook.yaml"
PARTLY_SAMPLE_LABEL = "some prices are SAMPLE list prices — override them in pricebook.yaml"


@click.command(
    "catalog",
    epilog="""\b
Examples:
  reconciler catalog
  reconciler catalog --platform ipecs-cloud
  reconciler catalog --format json | jq '.platforms[0].products'""",
)
@click.option(
    "--platform",
    "platform",
    type=click.Choice(list(PLATFORMS)),
    default=None,
    help="Only this platform.",
)
@format_option("text", "json")
@config_option
def catalog(platform: str | None, fmt: str, config_path: str) -> ExitCode:
    """List each platform's profile types, packages or SKUs, included features, add-ons and
    prices (the price book's, else clearly labelled samples).
    """
    catalogs = load_catalogs(load_config(config_path))
    chosen = [catalogs[platform]] if platform else [catalogs[p] for p in PLATFORMS]
    if fmt == "json":
        data = {"platforms": [catalog_data(c) for c in chosen]}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo("\n\n".join(render_text(c) for c in chosen))
    return ExitCode.OK


def price_label(catalog: Catalog) -> str | None:
    """The sample-price warning for ``catalog``, or None when the price book sets them all."""
    if not catalog.sample_prices:
        return None
    return SAMPLE_LABEL if catalog is PLATFORMS[catalog.platform].catalog else PARTLY_SAMPLE_LABEL


def catalog_data(catalog: Catalog) -> dict[str, Any]:
    """The plain data view of one catalog (money as "12.50" strings)."""
    return {
        "platform": catalog.platform,
        "label": PLATFORMS[catalog.platform].label,
        "currency": catalog.currency,
        "sample_prices": catalog.sample_prices,
        "note": price_label(catalog),
        "products": [
            {
                "key": p.key,
                "display": p.display,
                "rank": p.rank,
                "monthly": fmt(p.monthly),
                "one_time": fmt(p.one_time),
                "included": sorted(p.included),
                "add_ons": sorted(p.add_ons),
                "user_kind": p.user_kind,
                "tier": p.tier,
                "trial": p.trial,
                "internal": p.internal,
                "sample": p.sample,
                "price_currency": SAMPLE_CURRENCY if p.sample else catalog.currency,
            }
            for p in _ordered(catalog)
        ],
        "add_ons": [
            {
                "key": a.key,
                "display": a.display,
                "monthly": fmt(a.monthly),
                "one_time": fmt(a.one_time),
                "requires": sorted(a.requires),
                "sample": a.sample,
                "price_currency": SAMPLE_CURRENCY if a.sample else catalog.currency,
            }
            for a in catalog.add_ons.values()
        ],
        "features": dict(catalog.features),
    }


def render_text(catalog: Catalog) -> str:
    label = PLATFORMS[catalog.platform].label
    lines = [f"{label} ({catalog.platform}) — prices in {catalog.currency}"]
    note = price_label(catalog)
    if note:
        lines.append(note)
    if catalog.sample_prices and catalog is not PLATFORMS[catalog.platform].catalog:
        lines.append(f"* = SAMPLE list price, in {SAMPLE_CURRENCY} (never relabelled)")
    products = _ordered(catalog)
    c2t = any(p.user_kind for p in products)
    head: list[str] = ["rank", "key", "name", "monthly", "one-time"]
    head += ["kind", "tier", "notes"] if c2t else ["included"]
    if catalog.add_ons:
        head.append("add-ons")
    rows = []
    for p in products:
        row = [str(p.rank), p.key, p.display, _price(p.monthly, p, catalog),
               _price(p.one_time, p, catalog)]
        if c2t:
            notes = [
                n for n, on in (("trial, 30 days", p.trial), ("internal use", p.internal)) if on
            ]
            row += [p.user_kind or "-", str(p.tier or "-"), ", ".join(notes) or "-"]
        else:
            row += [", ".join(sorted(p.included)) or "-"]
            if catalog.add_ons:
                row += [", ".join(sorted(p.add_ons)) or "-"]
        rows.append(row)
    lines += ["", PLATFORMS[catalog.platform].products_heading + ", lowest to highest:"]
    lines += _table(head, rows, right=(3, 4))
    if not catalog.add_ons:
        lines += ["", "Add-ons: none on this platform."]
    else:
        rows = [
            [
                a.key,
                a.display,
                _price(a.monthly, a, catalog),
                _price(a.one_time, a, catalog),
                ", ".join(sorted(a.requires)) or "-",
            ]
            for a in catalog.add_ons.values()
        ]
        lines += ["", "Add-ons:"]
        lines += _table(["key", "name", "monthly", "one-time", "requires"], rows, right=(2, 3))
    if catalog.features:
        lines += ["", "Included features:"]
        lines += [f"  {key}: {name}" for key, name in catalog.features.items()]
    return "\n".join(lines)


def _price(amount: Decimal, item: Product | AddOn, catalog: Catalog) -> str:
    """A price; starred where the price book leaves a sample in force (the whole catalog
    is the samples: its heading says so)."""
    partly = catalog is not PLATFORMS[catalog.platform].catalog
    return fmt(amount) + ("*" if partly and item.sample else "")


def _ordered(catalog: Catalog) -> list[Any]:
    # Call2Teams ranks tiers within each user kind: group by kind (pbx, trunk, internal)
    kinds = {kind: i for i, kind in enumerate(("pbx", "trunk", "internal"))}
    return sorted(
        catalog.products.values(), key=lambda p: (kinds.get(p.user_kind or "", -1), p.rank, p.key)
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], right: tuple[int, ...]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ]
        return ("  " + "  ".join(out)).rstrip()

    return [line(head)] + [line(r) for r in rows]


COMMANDS: list[click.Command] = [catalog]
