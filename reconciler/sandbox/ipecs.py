"""Simulated iPECS Cloud: a licence pool per package, change orders, Change Package.

Rules (seed 001 unless marked): a user's package takes a free licence of the pool (pool
count minus assigned users); licences come and go only by change orders (+n / -n) that are
submitted, approved or rejected by the platform, then final-confirmed by the reseller, and
only a confirmed order changes the pool; Change Package is an upgrade only (public: the new
package must include every feature of the old); a return that would leave fewer licences
than users on the package is refused, at submit and again at final confirm (assumed);
extensions follow the site's numbering rule ("Rule Number, Min 100 ~ Max 299").
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

from reconciler.errors import PlatformError
from reconciler.plan import Step
from reconciler.provider import StepOutcome
from reconciler.sandbox import common
from reconciler.sandbox.common import Ctx, Handler, Wording
from reconciler.sandbox.db import next_order_no
from reconciler.sandbox.rules import ipecs_is_upgrade
from reconciler.sandbox.state import ORDER_STATE_SQL

PLATFORM = "ipecs-cloud"
ACCOUNT_NOT_FOUND = "Customer {id} does not exist"
WORDS = Wording(
    user_not_found="Extension {ext} does not exist",
    extension_taken="Extension {ext} is already in use",
    name_required="Name is a required field",
    not_editable="{field} cannot be changed with Modify",
)
EDITABLE = frozenset(("name", "email", "site", "caller_id", "call_barring", "fraud_limit"))


# ----------------------------------------------------------------------- pool and site


def pool(ctx: Ctx, package: str) -> int:
    row = ctx.conn.execute(
        "SELECT quantity FROM pools WHERE account_id = ? AND package = ?",
        (ctx.account.id, package),
    ).fetchone()
    return int(row["quantity"]) if row else 0


def assigned(ctx: Ctx, package: str) -> int:
    row = ctx.conn.execute(
        "SELECT COUNT(*) AS n FROM users WHERE account_id = ? AND profile = ?",
        (ctx.account.id, package),
    ).fetchone()
    return int(row["n"])


def _require_package(ctx: Ctx, package: object) -> str:
    if not isinstance(package, str) or ctx.catalog.product(package) is None:
        raise PlatformError(f"Package {package!r} does not exist")
    return package


def _require_free_licence(ctx: Ctx, package: str) -> None:
    total, used = pool(ctx, package), assigned(ctx, package)
    if total - used <= 0:
        raise PlatformError(
            f"No available licence: {package} ({total - used}); {used} of {total} "
            "licence(s) are assigned. Add the user type with a change order first"
        )


def _site_for(ctx: Ctx, record: dict[str, Any]) -> sqlite3.Row:
    sites = ctx.conn.execute(
        "SELECT * FROM sites WHERE account_id = ? ORDER BY name", (ctx.account.id,)
    ).fetchall()
    name = record.get("site")
    if name is None:
        # (assumed) the portal preselects the account's only site
        if len(sites) == 1:
            return sites[0]
        raise PlatformError("Site is a required field")
    for site in sites:
        if site["name"] == name:
            return site
    raise PlatformError(f"Site {name!r} does not exist for customer {ctx.account.external_id}")


def _require_in_range(site: sqlite3.Row, extension: int) -> None:
    if not site["first"] <= extension <= site["last"]:
        raise PlatformError(
            f"Extension {extension}: Rule Number, Min {site['first']} ~ Max {site['last']} "
            f"(site {site['name']})"
        )


# ------------------------------------------------------------------------------- users


def _new_user(ctx: Ctx, record: dict[str, Any]) -> str:
    common.require_name(record, WORDS)
    package = _require_package(ctx, record.get("profile"))
    site = _site_for(ctx, record)
    _require_in_range(site, record["extension"])
    common.require_free_extension(ctx, record["extension"], WORDS)
    fraud = record.get("fraud_limit")
    if fraud is not None and (not isinstance(fraud, int) or isinstance(fraud, bool) or fraud < 0):
        raise PlatformError("Call Fraud Limit must be a whole number of USD/Day")
    _require_free_licence(ctx, package)
    common.insert_user(ctx, {**record, "site": site["name"], "add_ons": []}, profile=package)
    return package


def create_user(ctx: Ctx, step: Step) -> StepOutcome:
    package = _new_user(ctx, common.record_of(step))
    return common.done(f"added extension {step.user} with {package}")


def change_package(ctx: Ctx, step: Step) -> StepOutcome:
    row = common.user_row(ctx, step.user, WORDS)
    new = _require_package(ctx, (step.after or {}).get("profile"))
    old = row["profile"]
    expected = (step.before or {}).get("profile")
    if expected is not None and expected != old:
        raise PlatformError(f"Extension {step.user} has package {old}, not {expected}")
    if not ipecs_is_upgrade(old, new):
        raise PlatformError(
            f"Change Package from {old} to {new} is not possible: the new package must "
            "include every feature of the old (upgrade only)"
        )
    _require_free_licence(ctx, new)
    ctx.conn.execute("UPDATE users SET profile = ? WHERE id = ?", (new, row["id"]))
    # the old package's licence stays in the pool, billed, until a change order returns it
    return common.done(f"changed package of {step.user} from {old} to {new}")


def replace_user(ctx: Ctx, step: Step) -> StepOutcome:
    """Delete and re-create: the only way down a package; a new user id, data lost."""
    row = common.user_row(ctx, step.user, WORDS)
    record = common.record_of(step)
    common.delete(ctx, row)
    package = _new_user(ctx, record)
    return common.done(
        f"deleted extension {row['extension']} ({row['profile']}) and re-created "
        f"{step.user} with {package}; voicemail and settings were not kept"
    )


def update_user(ctx: Ctx, step: Step) -> StepOutcome:
    row = common.user_row(ctx, step.user, WORDS)
    if "site" in (step.after or {}):
        _require_in_range(_site_for(ctx, dict(step.after or {})), row["extension"])
    changed = common.update_fields(ctx, row, step, EDITABLE, WORDS)
    return common.done(f"modified {', '.join(sorted(changed))} of {step.user}")


def renumber_user(ctx: Ctx, step: Step) -> StepOutcome:
    """Change Extension; with ``after.site`` the user moves to that site in the same Modify
    (seed 001: the User Setup form holds Extension and Site together), so the new
    extension is checked against the new site's numbering rule."""
    row = common.user_row(ctx, step.user, WORDS)
    new = common.new_extension(step)
    moving = "site" in (step.after or {})
    site = _site_for(ctx, {"site": (step.after or {})["site"] if moving else row["site"]})
    _require_in_range(site, new)
    row = common.renumber(ctx, step, WORDS)
    if moving:
        ctx.conn.execute("UPDATE users SET site = ? WHERE id = ?", (site["name"], row["id"]))
        return common.done(f"changed extension {row['extension']} to {new} and site to "
                           f"{site['name']}")
    return common.done(f"changed extension {row['extension']} to {new}")


def delete_user(ctx: Ctx, step: Step) -> StepOutcome:
    row = common.user_row(ctx, step.user, WORDS)
    common.delete(ctx, row)
    return common.done(f"deleted extension {step.user}; its {row['profile']} licence stays "
                       "in the pool until returned")


# ------------------------------------------------------------------------------ orders


def _quantities(step: Step) -> tuple[int, int]:
    before, after = (step.before or {}).get("quantity", 0), (step.after or {}).get("quantity")
    for q in (before, after):
        if not isinstance(q, int) or isinstance(q, bool) or q < 0:
            raise PlatformError(f"Order quantity must be a whole number, not {q!r}")
    return int(before), int(after)  # type: ignore[arg-type]


def _check_return(ctx: Ctx, package: str, delta: int, *, pending: int) -> None:
    """A return may not leave fewer licences than users on the package."""
    left = pool(ctx, package) + pending + delta
    used = assigned(ctx, package)
    if left < used:
        raise PlatformError(
            f"Cannot return {-delta} {package} licence(s): {used} user(s) are assigned to "
            f"the package and only {left} licence(s) would remain"
        )


def submit_order(ctx: Ctx, step: Step) -> StepOutcome:
    package = _require_package(ctx, step.licence)
    before, after = _quantities(step)
    delta = after - before
    if step.action == "order_licences" and delta <= 0:
        raise PlatformError(f"Order (+/-) for {package} must be more than 0 to add licences")
    if step.action == "return_licences" and delta >= 0:
        raise PlatformError(f"Order (+/-) for {package} must be less than 0 to return licences")
    if delta < 0:
        # returns already on their way count against what would remain
        row = ctx.conn.execute(
            f"SELECT COALESCE(SUM(delta), 0) AS n FROM orders WHERE account_id = ? AND "
            f"package = ? AND delta < 0 AND {ORDER_STATE_SQL} IN ('submitted', 'approved')",
            (ctx.account.id, package, ctx.today.isoformat()),
        ).fetchone()
        _check_return(ctx, package, delta, pending=int(row["n"]))
    order_no = next_order_no(ctx.conn)
    state, approve_on = "submitted", None
    if ctx.settings.approval == "immediate":
        state = "approved"
    elif ctx.settings.approval == "delayed":
        approve_on = (ctx.today + timedelta(days=ctx.settings.approval_delay_days)).isoformat()
    ctx.conn.execute(
        "INSERT INTO orders (order_no, account_id, package, delta, state, submitted_on,"
        " approve_on, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (order_no, ctx.account.id, package, delta, state, ctx.today.isoformat(), approve_on,
         ctx.key),
    )
    return StepOutcome(
        status="pending",
        detail=f"change order {order_no} {package} {delta:+d} submitted ({state})",
        order_id=str(order_no),
    )


def confirm_order(ctx: Ctx, step: Step) -> StepOutcome:
    order_id = (step.params or {}).get("order_id")
    row = None
    if isinstance(order_id, (str, int)) and str(order_id).isdigit():
        row = ctx.conn.execute(
            f"SELECT *, {ORDER_STATE_SQL} AS eff_state FROM orders WHERE order_no = ? "
            "AND account_id = ?",
            (ctx.today.isoformat(), int(order_id), ctx.account.id),
        ).fetchone()
    if row is None:
        raise PlatformError(f"order {order_id} does not exist for customer "
                            f"{ctx.account.external_id}")
    if step.licence is not None and step.licence != row["package"]:
        raise PlatformError(f"order {order_id} is for {row['package']}, not {step.licence}")
    state = row["eff_state"]
    if state == "rejected":
        raise PlatformError(f"order {order_id} was rejected", code="rejected")
    if state == "confirmed":
        raise PlatformError(f"order {order_id} is already final-confirmed")
    if state != "approved":
        raise PlatformError(f"order {order_id} is not approved ({state})", code="not-approved")
    package, delta = row["package"], int(row["delta"])
    if delta < 0:
        _check_return(ctx, package, delta, pending=0)
    quantity = pool(ctx, package) + delta
    if quantity:
        ctx.conn.execute(
            "INSERT INTO pools (account_id, package, quantity) VALUES (?, ?, ?) "
            "ON CONFLICT (account_id, package) DO UPDATE SET quantity = excluded.quantity",
            (ctx.account.id, package, quantity),
        )
    else:
        ctx.conn.execute(
            "DELETE FROM pools WHERE account_id = ? AND package = ?", (ctx.account.id, package)
        )
    ctx.conn.execute("UPDATE orders SET state = 'confirmed' WHERE order_no = ?", (row["order_no"],))
    return common.done(f"order {order_id} final-confirmed: {package} now {quantity}",
                       order_id=str(order_id))


def decide(conn: sqlite3.Connection, order_no: int, approve: bool, today: str) -> str:
    """The platform's decision on an order (``sandbox approve`` / ``reject``)."""
    row = conn.execute(
        f"SELECT *, {ORDER_STATE_SQL} AS eff_state FROM orders WHERE order_no = ?",
        (today, order_no),
    ).fetchone()
    if row is None:
        raise PlatformError(f"order {order_no} does not exist")
    if row["eff_state"] != "submitted":
        raise PlatformError(f"order {order_no} is {row['eff_state']}, not submitted")
    state = "approved" if approve else "rejected"
    conn.execute("UPDATE orders SET state = ? WHERE order_no = ?", (state, order_no))
    return state


HANDLERS: dict[str, Handler] = {
    "create_user": create_user,
    "change_profile": change_package,
    "replace_user": replace_user,
    "update_user": update_user,
    "renumber_user": renumber_user,
    "delete_user": delete_user,
    "order_licences": submit_order,
    "return_licences": submit_order,
    "confirm_order": confirm_order,
}
