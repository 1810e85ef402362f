"""Simulated Call2Teams: subscriptions (SKU x quantity) on client accounts; users hold one
licence of a subscription of their kind.

Rules (seed 002 unless marked): Internal-User licences (C2TU-I) are for the partner's own
staff, never offered to clients, and are ordered and amended only through a Service Desk
request; trials (C2TUT, T2TUT) expire 30 days after they started, cannot be extended, and
their users lose service (public); amending a subscription sets its new quantity (the
portal's "amend the quantity"), and a subscription cannot go below the licences its users
hold (public); users may be given licences of an existing C2TU-I subscription of an
internal account (assumed: that is licence assignment, not an order).
"""

from __future__ import annotations

import sqlite3
from datetime import date

from reconciler.catalog import Product
from reconciler.errors import PlatformError
from reconciler.plan import Step
from reconciler.provider import StepOutcome
from reconciler.sandbox import common
from reconciler.sandbox.common import Ctx, Handler, Wording
from reconciler.sandbox.rules import USER_KINDS, c2t_is_internal, c2t_is_trial, c2t_user_kind
from reconciler.sandbox.state import subscription_active, trial_expires_on

PLATFORM = "call2teams"
ACCOUNT_NOT_FOUND = "Account {id} was not found under this partner"
WORDS = Wording(
    user_not_found="User {ext} was not found",
    extension_taken="Extension {ext} is already used by another user",
    name_required="A display name is required",
    not_editable="{field} cannot be changed on a user",
)
EDITABLE = frozenset(("name", "email"))
SERVICE_DESK = (
    "{sku} is an Internal-User subscription: ordering or amending it requires a Service "
    "Desk request"
)
NOT_FOR_CLIENTS = (
    "{sku}: Internal-User licences are for partners' own staff and cannot be offered to "
    "clients ({id} is a client account)"
)
_KIND_WORD = {"pbx": "PBX", "trunk": "trunk", "internal": "internal"}


def _product(ctx: Ctx, sku: object) -> Product:
    product = ctx.catalog.product(sku) if isinstance(sku, str) else None
    if product is None:
        raise PlatformError(f"Offer {sku!r} is not available on this partner account")
    if c2t_is_internal(product.key) and ctx.account.kind != "internal":
        raise PlatformError(NOT_FOR_CLIENTS.format(sku=product.key, id=ctx.account.external_id))
    return product


def _subscription(ctx: Ctx, sku: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = ctx.conn.execute(
        "SELECT * FROM subscriptions WHERE account_id = ? AND sku = ?", (ctx.account.id, sku)
    ).fetchone()
    return row


def _cancelled_on(ctx: Ctx, sku: str, sub: sqlite3.Row) -> date | None:
    """When subscription ``sub`` was cancelled (its trial expired), or None while active."""
    started = date.fromisoformat(sub["started_on"])
    if subscription_active(ctx.catalog, sku, started, ctx.today):
        return None
    return trial_expires_on(started)


def _holders(ctx: Ctx, sku: str) -> int:
    row = ctx.conn.execute(
        "SELECT COUNT(*) AS n FROM users WHERE account_id = ? AND licence = ?",
        (ctx.account.id, sku),
    ).fetchone()
    return int(row["n"])


def _take_licence(ctx: Ctx, kind: str, sku: object) -> Product:
    """Check that a user of ``kind`` can take one licence of subscription ``sku``."""
    product = _product(ctx, sku)
    serves = c2t_user_kind(product.key)
    if serves != kind:
        raise PlatformError(
            f"Subscription {product.key} is for {_KIND_WORD.get(str(serves), '?')} "
            f"users, not {_KIND_WORD.get(kind, kind)} users"
        )
    sub = _subscription(ctx, product.key)
    if sub is None:
        raise PlatformError(f"Account {ctx.account.external_id} has no {product.key} "
                            "subscription")
    cancelled = _cancelled_on(ctx, product.key, sub)
    if cancelled is not None:
        raise PlatformError(
            f"Subscription {product.key} was cancelled on {cancelled}: the trial expired"
        )
    used = _holders(ctx, product.key)
    if used >= sub["quantity"]:
        raise PlatformError(
            f"No licences left on subscription {product.key} ({used} of {sub['quantity']} "
            "in use)"
        )
    return product


def _kind(value: object) -> str:
    if value not in USER_KINDS:
        raise PlatformError(f"User type must be one of {', '.join(USER_KINDS)}, not {value!r}")
    return str(value)


def create_user(ctx: Ctx, step: Step) -> StepOutcome:
    record = common.record_of(step)
    common.require_name(record, WORDS)
    kind = _kind(record.get("profile"))
    common.require_free_extension(ctx, record["extension"], WORDS)
    product = _take_licence(ctx, kind, record.get("licence"))
    common.insert_user(ctx, {**record, "add_ons": [], "site": None}, profile=kind)
    return common.done(f"added {_KIND_WORD[kind]} user {step.user} on {product.key}")


def move_user(ctx: Ctx, step: Step) -> StepOutcome:
    row = common.user_row(ctx, step.user, WORDS)
    after, before = dict(step.after or {}), dict(step.before or {})
    if after.get("profile", row["profile"]) != row["profile"]:
        raise PlatformError(
            f"User {step.user} is a {_KIND_WORD.get(row['profile'], row['profile'])} user; "
            "the user type cannot be changed"
        )
    if "licence" in before and before["licence"] != row["licence"]:
        raise PlatformError(f"User {step.user} holds a {row['licence']} licence, not "
                            f"{before['licence']}")
    if after.get("licence") == row["licence"]:
        raise PlatformError(f"User {step.user} already holds a {row['licence']} licence")
    product = _take_licence(ctx, row["profile"], after.get("licence"))
    ctx.conn.execute("UPDATE users SET licence = ? WHERE id = ?", (product.key, row["id"]))
    return common.done(f"moved {step.user} from {row['licence']} to {product.key}")


def delete_user(ctx: Ctx, step: Step) -> StepOutcome:
    row = common.user_row(ctx, step.user, WORDS)
    common.delete(ctx, row)
    return common.done(f"deleted user {step.user}; its {row['licence']} licence is free")


def amend(ctx: Ctx, step: Step) -> StepOutcome:
    """Amend Subscription (order more, or fewer; 0 cancels it) to ``after.quantity``."""
    product = _product(ctx, step.licence)
    if c2t_is_internal(product.key):
        raise PlatformError(SERVICE_DESK.format(sku=product.key), code="service-desk")
    new = (step.after or {}).get("quantity")
    if not isinstance(new, int) or isinstance(new, bool) or new < 0:
        raise PlatformError(f"Quantity must be a whole number, not {new!r}")
    sub = _subscription(ctx, product.key)
    old = int(sub["quantity"]) if sub else 0
    if step.action == "order_licences" and new <= old:
        raise PlatformError(f"Order Subscriptions: the new quantity of {product.key} ({new}) "
                            f"must be more than the current {old}")
    if step.action == "return_licences" and new >= old:
        raise PlatformError(f"Update Subscriptions: the new quantity of {product.key} ({new}) "
                            f"must be less than the current {old}")
    if sub is not None and c2t_is_trial(product.key) and new > old:
        cancelled = _cancelled_on(ctx, product.key, sub)
        if cancelled is not None:
            raise PlatformError(f"{product.key} expired on {cancelled}: trials cannot be extended")
    used = _holders(ctx, product.key)
    if new < used:
        raise PlatformError(
            f"Cannot reduce {product.key} to {new}: {used} licence(s) are assigned to users"
        )
    if sub is None:
        ctx.conn.execute(
            "INSERT INTO subscriptions (account_id, sku, quantity, started_on) VALUES (?,?,?,?)",
            (ctx.account.id, product.key, new, ctx.today.isoformat()),
        )
    elif new == 0:
        ctx.conn.execute("DELETE FROM subscriptions WHERE account_id = ? AND sku = ?",
                         (ctx.account.id, product.key))
    else:
        ctx.conn.execute("UPDATE subscriptions SET quantity = ? WHERE account_id = ? AND sku = ?",
                         (new, ctx.account.id, product.key))
    total_old, total_new = product.monthly * old, product.monthly * new
    return common.done(
        f"{product.key} amended from {old} to {new} (monthly {total_old:.2f} -> "
        f"{total_new:.2f})"
    )


HANDLERS: dict[str, Handler] = {
    "create_user": create_user,
    "change_profile": move_user,
    "update_user": common.field_updater(EDITABLE, WORDS),
    "renumber_user": common.renumberer(WORDS),
    "delete_user": delete_user,
    "order_licences": amend,
    "return_licences": amend,
}
