"""Reading an account's actual state from the sandbox tables, and writing one wholesale.

``read_account`` is a handful of indexed queries per account whatever its size (no query
per user): the benchmark plans 1,000 accounts x 50 users against the sandbox.
``put_account`` writes an :class:`ActualAccount` as it is, without the platform rules: it
seeds the demo state, tests and benchmarks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from reconciler.catalog import Catalog
from reconciler.errors import PlatformError
from reconciler.model import ActualAccount, ActualUser, ChangeOrder, Licence, Site, maker
from reconciler.sandbox import db
from reconciler.sandbox.rules import TRIAL_DAYS, c2t_is_trial

#: an ActualUser without its frozen __init__ (model.maker; most of reading an account)
_make_user = maker(ActualUser)
#: user ids look like the platform's: a prefix and a number that never comes back
USER_ID_PREFIX = {"mitel-connect": "MC", "ipecs-cloud": "IP", "call2teams": "CT"}


@dataclass(frozen=True)
class AccountRow:
    id: int
    platform: str
    external_id: str
    name: str
    kind: str


def find_account(
    c: sqlite3.Connection, platform: str, external_id: str, not_found: str
) -> AccountRow:
    row = c.execute(
        "SELECT * FROM accounts WHERE platform = ? AND external_id = ?", (platform, external_id)
    ).fetchone()
    if row is None:
        raise PlatformError(not_found.format(id=external_id), code="not-found")
    return _account(row)


def _account(row: sqlite3.Row) -> AccountRow:
    return AccountRow(row["id"], row["platform"], row["external_id"], row["name"], row["kind"])


def all_accounts(c: sqlite3.Connection, platform: str | None = None) -> list[AccountRow]:
    if platform is None:
        rows = c.execute("SELECT * FROM accounts ORDER BY platform, external_id")
    else:
        rows = c.execute(
            "SELECT * FROM accounts WHERE platform = ? ORDER BY external_id", (platform,)
        )
    return [_account(r) for r in rows]


def trial_expires_on(started_on: date) -> date:
    """A trial is cancelled on this day (30 days after it started, seed)."""
    return started_on + timedelta(days=TRIAL_DAYS)


def subscription_active(catalog: Catalog, sku: str, started_on: date, today: date) -> bool:
    return not (c2t_is_trial(sku) and today >= trial_expires_on(started_on))


#: an order the platform approved on the clock but nobody looked at yet is approved
ORDER_STATE_SQL = (
    "CASE WHEN state = 'submitted' AND approve_on IS NOT NULL AND approve_on <= ? "
    "THEN 'approved' ELSE state END"
)


def user_id(platform: str, row: sqlite3.Row | Mapping[str, Any]) -> str:
    return row["user_id"] if row["user_id"] else f"{USER_ID_PREFIX[platform]}{row['id']:06d}"


def split_add_ons(text: str) -> frozenset[str]:
    return frozenset(text.split(",")) if text else frozenset()


def join_add_ons(add_ons: frozenset[str] | set[str] | list[str]) -> str:
    return ",".join(sorted(add_ons))


def read_account(
    c: sqlite3.Connection, acc: AccountRow, catalog: Catalog, today: date
) -> ActualAccount:
    licences: list[Licence] = []
    inactive: set[str] = set()
    if acc.platform == "ipecs-cloud":
        for r in c.execute(
            "SELECT package, quantity FROM pools WHERE account_id = ? ORDER BY package", (acc.id,)
        ):
            licences.append(Licence(r["package"], r["quantity"]))
    elif acc.platform == "call2teams":
        for r in c.execute(
            "SELECT sku, quantity, started_on FROM subscriptions WHERE account_id = ? "
            "ORDER BY sku",
            (acc.id,),
        ):
            started = date.fromisoformat(r["started_on"])
            active = subscription_active(catalog, r["sku"], started, today)
            if not active:
                inactive.add(r["sku"])
            licences.append(Licence(r["sku"], r["quantity"], started, active))
    # plain tuples, not sqlite3.Row, and positional fields (every one, in the model's order):
    # the benchmark reads 50,000 users
    cur = c.cursor()
    cur.row_factory = None
    cur.execute(
        "SELECT extension, user_id, id, name, profile, email, site, add_ons, licence, "
        "caller_id, call_barring, fraud_limit FROM users WHERE account_id = ? "
        "ORDER BY extension", (acc.id,))
    prefix = USER_ID_PREFIX[acc.platform]
    users = tuple(
        _make_user(ext, uid if uid else f"{prefix}{rowid:06d}", name, profile, email, site,
                   split_add_ons(add_ons), licence, caller_id, barring, limit,
                   licence not in inactive)
        for (ext, uid, rowid, name, profile, email, site, add_ons, licence, caller_id, barring,
             limit) in cur
    )
    orders = tuple(
        ChangeOrder(
            order_id=str(r["order_no"]),
            licence=r["package"],
            delta=r["delta"],
            state=r["eff_state"],
            submitted_on=date.fromisoformat(r["submitted_on"]),
            idempotency_key=r["idempotency_key"],
        )
        for r in c.execute(
            f"SELECT *, {ORDER_STATE_SQL} AS eff_state FROM orders WHERE account_id = ? "
            "ORDER BY order_no",
            (today.isoformat(), acc.id),
        )
    )
    sites = tuple(
        Site(r["name"], r["first"], r["last"])
        for r in c.execute(
            "SELECT * FROM sites WHERE account_id = ? ORDER BY name", (acc.id,)
        )
    )
    return ActualAccount(
        platform=acc.platform,
        external_id=acc.external_id,
        name=acc.name,
        kind=acc.kind,
        today=today,
        users=users,
        licences=tuple(licences),
        orders=orders,
        sites=sites,
    )


def create_account(
    c: sqlite3.Connection, platform: str, external_id: str, name: str, kind: str = "client",
    sites: tuple[Site, ...] = (),
) -> int:
    exists = c.execute(
        "SELECT 1 FROM accounts WHERE platform = ? AND external_id = ?", (platform, external_id)
    ).fetchone()
    if exists:
        raise PlatformError(f"{platform} account {external_id} already exists")
    cur = c.execute(
        "INSERT INTO accounts (platform, external_id, name, kind) VALUES (?, ?, ?, ?)",
        (platform, external_id, name, kind),
    )
    account_id = int(cur.lastrowid or 0)
    c.executemany(
        "INSERT INTO sites (account_id, name, first, last) VALUES (?, ?, ?, ?)",
        [(account_id, s.name, s.first, s.last) for s in sites],
    )
    return account_id


def put_account(c: sqlite3.Connection, state: ActualAccount) -> None:
    """Write ``state`` as the account's whole state, replacing what was there.

    No platform rule is checked: this is how tests, benchmarks and the demo seed a state.
    ``today`` is ignored (the clock is global), as are ``Licence.active`` and
    ``ActualUser.active`` (derived from the clock). A submitted order stays submitted until
    approved by hand (``sandbox approve``).
    """
    clock = db.today(c)
    c.execute(
        "DELETE FROM accounts WHERE platform = ? AND external_id = ?",
        (state.platform, state.external_id),
    )
    account_id = create_account(
        c, state.platform, state.external_id, state.name, state.kind, state.sites
    )
    c.executemany(
        "INSERT INTO users (account_id, user_id, extension, name, email, site, profile, add_ons,"
        " licence, caller_id, call_barring, fraud_limit) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (account_id, u.user_id or None, u.extension, u.name, u.email, u.site, u.profile,
             join_add_ons(u.add_ons), u.licence, u.caller_id, u.call_barring, u.fraud_limit)
            for u in state.users
        ],
    )
    if state.platform == "ipecs-cloud":
        c.executemany(
            "INSERT INTO pools (account_id, package, quantity) VALUES (?, ?, ?)",
            [(account_id, lic.key, lic.quantity) for lic in state.licences if lic.quantity],
        )
    elif state.platform == "call2teams":
        c.executemany(
            "INSERT INTO subscriptions (account_id, sku, quantity, started_on) VALUES (?,?,?,?)",
            [
                (account_id, lic.key, lic.quantity, (lic.started_on or clock).isoformat())
                for lic in state.licences
                if lic.quantity
            ],
        )
    c.executemany(
        "INSERT INTO orders (order_no, account_id, package, delta, state, submitted_on,"
        " approve_on, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
        [
            (int(o.order_id), account_id, o.licence, o.delta, o.state,
             o.submitted_on.isoformat(), o.idempotency_key)
            for o in state.orders
        ],
    )
