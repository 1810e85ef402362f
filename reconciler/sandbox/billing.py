"""What each simulated platform bills, computed from its own tables and the price book.

Deliberately independent of ``reconciler.platforms.*.monthly_bill`` (which works on the
ActualAccount model): the two are compared in tests, so a mistake in either shows.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal
from typing import Any

from reconciler.catalog import Catalog
from reconciler.money import ZERO
from reconciler.sandbox.state import AccountRow, split_add_ons, subscription_active


def billed_monthly(c: sqlite3.Connection, acc: AccountRow, catalog: Catalog,
                   today: date) -> Decimal:
    total = ZERO
    if acc.platform == "mitel-connect":
        # every user: its profile type plus each add-on, monthly
        for r in c.execute(
            "SELECT profile, COUNT(*) AS n FROM users WHERE account_id = ? GROUP BY profile",
            (acc.id,),
        ):
            total += catalog.products[r["profile"]].monthly * r["n"]
        for r in c.execute(
            "SELECT add_ons, COUNT(*) AS n FROM users WHERE account_id = ? AND add_ons != '' "
            "GROUP BY add_ons",
            (acc.id,),
        ):
            for key in split_add_ons(r["add_ons"]):
                total += catalog.add_ons[key].monthly * r["n"]
    elif acc.platform == "ipecs-cloud":
        # every confirmed licence in the pool, assigned or not
        for r in c.execute("SELECT package, quantity FROM pools WHERE account_id = ?", (acc.id,)):
            total += catalog.products[r["package"]].monthly * r["quantity"]
    elif acc.platform == "call2teams":
        # every active subscription: quantity x its tier's price; a cancelled trial nothing
        for r in c.execute(
            "SELECT sku, quantity, started_on FROM subscriptions WHERE account_id = ?", (acc.id,)
        ):
            if subscription_active(catalog, r["sku"], date.fromisoformat(r["started_on"]), today):
                total += catalog.products[r["sku"]].monthly * r["quantity"]
    return total


def charges(c: sqlite3.Connection, acc: AccountRow) -> list[dict[str, Any]]:
    return [
        {
            "extension": r["extension"],
            "user_id": r["user_id"],
            "item": r["item"],
            "amount": r["amount"],
            "charged_on": r["charged_on"],
            "idempotency_key": r["idempotency_key"],
        }
        for r in c.execute("SELECT * FROM charges WHERE account_id = ? ORDER BY id", (acc.id,))
    ]
