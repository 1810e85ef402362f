"""``reconciler sandbox show``: every account's users, pool / subscriptions, orders, one-time
charges and billed monthly total, as plain JSON data (stable keys, money as "12.50") or as
text for a terminal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from reconciler.catalog import did_you_mean
from reconciler.errors import ReconcilerError
from reconciler.escape import terminal, walk_strings
from reconciler.importer import slugify
from reconciler.money import fmt
from reconciler.sandbox import billing, db, state

if TYPE_CHECKING:
    from reconciler.sandbox.core import Sandbox


def file_slugs(root: Path) -> dict[tuple[str, str], str]:
    """(platform, external_id) -> slug, from the account files under ``root/accounts``
    (best effort: a broken file is validate's business, not show's)."""
    from reconciler.yamlload import load_yaml

    found: dict[tuple[str, str], str] = {}
    folder = root / "accounts"
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.y*ml")):
        try:
            data = load_yaml(path)
        except (ReconcilerError, OSError):
            continue
        if isinstance(data, dict) and all(
            isinstance(data.get(k), str) for k in ("account", "platform", "external_id")
        ):
            found[(data["platform"], data["external_id"])] = data["account"]
    return found


def snapshot(sandbox: Sandbox, only: str | None = None) -> dict[str, Any]:
    slugs = file_slugs(Path(sandbox.config.root))
    with sandbox.db.read() as c:
        today = db.today(c)
        accounts = state.all_accounts(c)
        rows = sorted(
            ((acc, slugs.get((acc.platform, acc.external_id)) or slugify(acc.name))
             for acc in accounts),
            key=lambda pair: (pair[1], pair[0].platform, pair[0].external_id),
        )
        if only is not None:
            picked = [
                (a, s) for a, s in rows
                if only in (s, a.external_id) or only.lower() == a.external_id.lower()
            ]
            if not picked:
                choices = [s for _, s in rows] + [a.external_id for a, _ in rows]
                raise ReconcilerError(
                    f"no sandbox account {only!r}{did_you_mean(only, choices)} "
                    f"(known: {', '.join(sorted(s for _, s in rows))})"
                )
            rows = picked
        return {
            "clock": today.isoformat(),
            "accounts": [_account(sandbox, c, acc, slug, today) for acc, slug in rows],
        }


def _account(sandbox: Sandbox, c: Any, acc: state.AccountRow, slug: str,
             today: date) -> dict[str, Any]:
    catalog = sandbox.catalogs[acc.platform]
    actual = state.read_account(c, acc, catalog, today)
    used = Counter(u.licence if acc.platform == "call2teams" else u.profile
                   for u in actual.users)
    orders = {
        r["order_no"]: r["approve_on"]
        for r in c.execute("SELECT order_no, approve_on FROM orders WHERE account_id = ?",
                           (acc.id,))
    }
    pool: list[dict[str, Any]] = []
    subscriptions: list[dict[str, Any]] = []
    if acc.platform == "ipecs-cloud":
        pool = [
            {"package": lic.key, "quantity": lic.quantity, "assigned": used[lic.key],
             "free": lic.quantity - used[lic.key]}
            for lic in actual.licences
        ]
    elif acc.platform == "call2teams":
        subscriptions = [
            {
                "sku": lic.key,
                "quantity": lic.quantity,
                "used": used[lic.key],
                "started_on": lic.started_on.isoformat() if lic.started_on else None,
                "expires_on": (state.trial_expires_on(lic.started_on).isoformat()
                               if catalog.products[lic.key].trial and lic.started_on else None),
                "active": lic.active,
                "unit_price": fmt(catalog.products[lic.key].monthly),
            }
            for lic in actual.licences
        ]
    return {
        "account": slug,
        "platform": acc.platform,
        "external_id": acc.external_id,
        "name": acc.name,
        "kind": acc.kind,
        "billed_monthly": fmt(billing.billed_monthly(c, acc, catalog, today)),
        "currency": catalog.currency,
        "sites": [{"name": s.name, "extensions": f"{s.first}-{s.last}"} for s in actual.sites],
        "users": [
            {
                "extension": u.extension, "user_id": u.user_id, "name": u.name,
                "email": u.email, "site": u.site, "profile": u.profile,
                "add_ons": sorted(u.add_ons), "licence": u.licence, "caller_id": u.caller_id,
                "call_barring": u.call_barring, "fraud_limit": u.fraud_limit,
                "active": u.active,
            }
            for u in actual.users
        ],
        "pool": pool,
        "subscriptions": subscriptions,
        "orders": [
            {
                "order_id": o.order_id, "package": o.licence, "delta": o.delta,
                "state": o.state, "submitted_on": o.submitted_on.isoformat(),
                "approve_on": orders.get(int(o.order_id)),
                "idempotency_key": o.idempotency_key,
            }
            for o in actual.orders
        ],
        "charges": billing.charges(c, acc),
    }


# --------------------------------------------------------------------------------- text


def render_text(data: dict[str, Any], out: TextIO, path: str = "") -> None:
    # names, ids and keys come from the platform: each shown on its own line, escaped
    data = walk_strings(data, terminal)
    path = terminal(path)
    where = f"sandbox {path}  " if path else "sandbox  "
    out.write(f"{where}clock {data['clock']}\n")
    for acc in data["accounts"]:
        out.write("\n")
        kind = f", {acc['kind']}" if acc["platform"] == "call2teams" else ""
        out.write(f"{acc['account']}  {acc['platform']} {acc['external_id']} "
                  f"\"{acc['name']}\"{kind}\n")
        out.write(f"  billed monthly: {acc['billed_monthly']} {acc['currency']}\n")
        for s in acc["sites"]:
            out.write(f"  site {s['name']}: extensions {s['extensions']}\n")
        _section(out, "licence pool", map(_pool_line, acc["pool"]))
        _section(out, "subscriptions", map(_subscription_line, acc["subscriptions"]))
        out.write(f"  users ({len(acc['users'])}):\n")  # listed even when there are none
        for u in acc["users"]:
            out.write(f"    {_user_line(u)}\n")
        _section(out, "change orders", map(_order_line, acc["orders"]))
        _section(out, "one-time charges", map(_charge_line, acc["charges"]))


def _section(out: TextIO, title: str, lines: Iterable[str]) -> None:
    """A titled list of an account's things, left out when it has none."""
    lines = list(lines)
    if lines:
        out.write(f"  {title}:\n")
        out.writelines(f"    {line}\n" for line in lines)


def _pool_line(p: dict[str, Any]) -> str:
    return f"{p['package']:<28} {p['quantity']:>4}  assigned {p['assigned']}, free {p['free']}"


def _subscription_line(s: dict[str, Any]) -> str:
    status = "active" if s["active"] else "CANCELLED"
    until = f", trial ends {s['expires_on']}" if s["expires_on"] else ""
    return (f"{s['sku']:<10} {s['quantity']:>4}  used {s['used']}, "
            f"{s['unit_price']} each, {status}, since {s['started_on']}{until}")


def _order_line(o: dict[str, Any]) -> str:
    key = o["idempotency_key"] or "-"
    return (f"{o['order_id']}  {o['package']} {o['delta']:+d}  {o['state']}"
            f"  submitted {o['submitted_on']}  key {key}")


def _charge_line(ch: dict[str, Any]) -> str:
    return f"{ch['charged_on']}  {ch['extension']}  {ch['item']}  {ch['amount']}"


def _user_line(u: dict[str, Any]) -> str:
    parts = [f"{u['extension']:>5}", u["name"], f"[{u['profile']}]"]
    if u["add_ons"]:
        parts.append("+" + ",".join(u["add_ons"]))
    if u["licence"]:
        parts.append(f"licence {u['licence']}")
    for key in ("email", "site", "caller_id", "call_barring"):
        if u[key]:
            parts.append(str(u[key]))
    if u["fraud_limit"] is not None:
        parts.append(f"fraud limit {u['fraud_limit']} USD/day")
    if not u["active"]:
        parts.append("NO SERVICE")
    return "  ".join(parts)
