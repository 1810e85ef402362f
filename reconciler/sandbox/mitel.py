"""Simulated Mitel (ShoreTel) Connect CLOUD: profile types, add-ons, Swap, one-time charges.

Rules (seed 000 unless marked): only a Decision Maker or Phone Manager may swap a profile
type or add a user; a swap removes the add-ons the new profile does not support and never
charges the one-time NRC again; a new user pays its profile's NRC and its add-ons'
one-time charges; an add-on must be available on the profile (public) and its required
add-ons must be enabled (assumed: recording-archive needs call-recording).
"""

from __future__ import annotations

from decimal import Decimal

from reconciler.catalog import Catalog
from reconciler.errors import PermissionDenied, PlatformError
from reconciler.money import fmt
from reconciler.plan import Step
from reconciler.provider import StepOutcome
from reconciler.sandbox import common
from reconciler.sandbox.common import Ctx, Handler, Wording
from reconciler.sandbox.rules import MITEL_ROLES_THAT_MAY_CHANGE as ROLES_THAT_MAY_CHANGE
from reconciler.sandbox.rules import mitel_add_on_allowed, mitel_requires
from reconciler.sandbox.state import join_add_ons, split_add_ons, user_id

PLATFORM = "mitel-connect"
ACCOUNT_NOT_FOUND = "Account {id} was not found in the Connect Portal"
WORDS = Wording(
    user_not_found="User with extension {ext} was not found",
    extension_taken="Extension {ext} is already assigned to another user",
    name_required="First and last name are required",
    not_editable="{field} cannot be changed with Edit User",
)
EDITABLE = frozenset(("name", "email", "site"))
_ROLE_NAMES = {"decision-maker": "Decision Maker", "phone-manager": "Phone Manager"}


def _require_role(ctx: Ctx, what: str) -> None:
    role = ctx.settings.mitel_role
    if role not in ROLES_THAT_MAY_CHANGE:
        names = " or ".join(_ROLE_NAMES[r] for r in ROLES_THAT_MAY_CHANGE)
        raise PermissionDenied(
            f"Only a Connect CLOUD {names} can {what} (roles needed: "
            f"{', '.join(ROLES_THAT_MAY_CHANGE)}; this credential's role: {role})"
        )


def _display(catalog: Catalog, profile: str) -> str:
    product = catalog.product(profile)
    return product.display if product else profile


def _require_profile(catalog: Catalog, profile: object) -> str:
    if not isinstance(profile, str) or catalog.product(profile) is None:
        raise PlatformError(f"Unknown profile type {profile!r}")
    return profile


def _check_add_ons(catalog: Catalog, profile: str, add_ons: frozenset[str]) -> None:
    for key in sorted(add_ons):
        if key not in catalog.add_ons:
            raise PlatformError(f"Unknown add-on feature {key!r}")
    for key in sorted(a for a in add_ons if not mitel_add_on_allowed(a, profile)):
        raise PlatformError(
            f"The {catalog.add_ons[key].display} add-on feature is not available for the "
            f"{_display(catalog, profile)} profile type"
        )
    for key in sorted(add_ons):
        missing = mitel_requires(key) - add_ons
        for need in sorted(missing):
            raise PlatformError(
                f"The {catalog.add_ons[key].display} add-on feature requires "
                f"{catalog.add_ons[need].display}"
            )


def _charge(ctx: Ctx, extension: int, uid: str, item: str, amount: Decimal) -> None:
    if amount:
        ctx.conn.execute(
            "INSERT INTO charges (account_id, extension, user_id, item, amount, charged_on,"
            " idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ctx.account.id, extension, uid, item, fmt(amount), ctx.today.isoformat(), ctx.key),
        )


def _add_ons_of(value: object) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(
        isinstance(a, str) for a in value
    ):
        raise PlatformError(f"add-ons must be a list of names, not {value!r}")
    return frozenset(value)


def create_user(ctx: Ctx, step: Step) -> StepOutcome:
    _require_role(ctx, "add users")
    record = common.record_of(step)
    common.require_name(record, WORDS)
    profile = _require_profile(ctx.catalog, record.get("profile"))
    add_ons = _add_ons_of(record.get("add_ons"))
    _check_add_ons(ctx.catalog, profile, add_ons)
    common.require_free_extension(ctx, record["extension"], WORDS)
    pk = common.insert_user(ctx, {**record, "add_ons": sorted(add_ons)}, profile=profile)
    row = ctx.conn.execute("SELECT * FROM users WHERE id = ?", (pk,)).fetchone()
    uid = user_id(PLATFORM, row)
    product = ctx.catalog.products[profile]
    # NRC: the profile's one-time charge plus each add-on's one-time (seed, public)
    _charge(ctx, record["extension"], uid, f"NRC {product.display}", product.one_time)
    for key in sorted(add_ons):
        addon = ctx.catalog.add_ons[key]
        _charge(ctx, record["extension"], uid, f"Add-on setup {addon.display}", addon.one_time)
    return common.done(f"added user {record['extension']} on {product.display}")


def swap(ctx: Ctx, step: Step) -> StepOutcome:
    _require_role(ctx, "swap profile types")
    row = common.user_row(ctx, step.user, WORDS)
    new = _require_profile(ctx.catalog, (step.after or {}).get("profile"))
    old = row["profile"]
    expected = (step.before or {}).get("profile")
    if expected is not None and expected != old:
        raise PlatformError(
            f"User {step.user} has the {_display(ctx.catalog, old)} profile type, not "
            f"{_display(ctx.catalog, str(expected))}"
        )
    if new == old:
        raise PlatformError(f"User {step.user} already has the {_display(ctx.catalog, new)} "
                            "profile type")
    kept = _kept_on_swap(ctx.catalog, new, split_add_ons(row["add_ons"]))
    ctx.conn.execute(
        "UPDATE users SET profile = ?, add_ons = ? WHERE id = ?",
        (new, join_add_ons(kept), row["id"]),
    )
    # no charge: a swap never bills the one-time NRC again (seed)
    dropped = sorted(split_add_ons(row["add_ons"]) - kept)
    note = f"; removed {', '.join(dropped)}" if dropped else ""
    return common.done(
        f"swapped {step.user} from {_display(ctx.catalog, old)} to "
        f"{_display(ctx.catalog, new)}{note}"
    )


def _kept_on_swap(catalog: Catalog, profile: str, add_ons: frozenset[str]) -> frozenset[str]:
    """The add-ons left after a swap: those the new profile allows, and whose required
    add-ons are left too."""
    kept = frozenset(a for a in add_ons if mitel_add_on_allowed(a, profile))
    while True:
        ok = frozenset(a for a in kept if mitel_requires(a) <= kept)
        if ok == kept:
            return kept
        kept = ok


def add_addon(ctx: Ctx, step: Step) -> StepOutcome:
    row = common.user_row(ctx, step.user, WORDS)
    key = (step.after or {}).get("add_on")
    if not isinstance(key, str) or key not in ctx.catalog.add_ons:
        raise PlatformError(f"Unknown add-on feature {key!r}")
    current = split_add_ons(row["add_ons"])
    addon = ctx.catalog.add_ons[key]
    if key in current:
        raise PlatformError(f"The {addon.display} add-on feature is already enabled for "
                            f"user {step.user}")
    _check_add_ons(ctx.catalog, row["profile"], current | {key})
    ctx.conn.execute(
        "UPDATE users SET add_ons = ? WHERE id = ?", (join_add_ons(current | {key}), row["id"])
    )
    _charge(ctx, row["extension"], user_id(PLATFORM, row), f"Add-on setup {addon.display}",
            addon.one_time)
    return common.done(f"enabled {addon.display} for {step.user}")


def remove_addon(ctx: Ctx, step: Step) -> StepOutcome:
    row = common.user_row(ctx, step.user, WORDS)
    key = (step.before or {}).get("add_on")
    current = split_add_ons(row["add_ons"])
    if not isinstance(key, str) or key not in current:
        raise PlatformError(f"The add-on feature {key!r} is not enabled for user {step.user}")
    for other in sorted(current - {key}):
        if key in mitel_requires(other):
            raise PlatformError(
                f"{ctx.catalog.add_ons[key].display} cannot be disabled while "
                f"{ctx.catalog.add_ons[other].display} is enabled: "
                f"{ctx.catalog.add_ons[other].display} requires it"
            )
    ctx.conn.execute(
        "UPDATE users SET add_ons = ? WHERE id = ?", (join_add_ons(current - {key}), row["id"])
    )
    return common.done(f"disabled {ctx.catalog.add_ons[key].display} for {step.user}")


def delete_user(ctx: Ctx, step: Step) -> StepOutcome:
    row = common.user_row(ctx, step.user, WORDS)
    common.delete(ctx, row)
    return common.done(f"deleted user {step.user}")


HANDLERS: dict[str, Handler] = {
    "create_user": create_user,
    "change_profile": swap,
    "add_addon": add_addon,
    "remove_addon": remove_addon,
    "update_user": common.field_updater(EDITABLE, WORDS),
    "renumber_user": common.renumberer(WORDS),
    "delete_user": delete_user,
}
