"""Call2Teams planner: subscriptions (SKU x quantity); each user holds one licence.

Vocabulary (seed 002): a subscription is changed by **Amend Subscription** (order up,
return down), shown with its old and new quantity and old and new total. A tier move falls
out of the common ordering: the new SKU is ordered for its full count first, the users move
(``change_profile`` of their ``licence``), the old SKU is returned to 0 last.

Internal-use SKUs (C2TU-I) are changed only through a Service Desk request: a ``manual``
step with the request text, never an automatic one. Trials last 30 days and cannot be
extended: one expiring within TRIAL_WARNING_DAYS is warned with its date; an expired one is
drift (warned), and a file that still puts users on it is blocked.
"""

from __future__ import annotations

from datetime import date, timedelta

from reconciler.diff import AccountChanges, Pool, record
from reconciler.model import TRIAL_WARNING_DAYS
from reconciler.money import ZERO, fmt
from reconciler.plan import Verdict
from reconciler.platforms.call2teams.catalog import TRIAL_DAYS
from reconciler.platforms.call2teams.tiers import cheaper_tier
from reconciler.sequence import (
    Draft,
    PlanContext,
    PlatformPlan,
    Supply,
    finish,
    schedule,
    temps_returned,
)

TEMP_WARNING = (
    "temporary licence: the moves here wait on each other and the subscription "
    "has no free licence; returned at the end of this plan, zero net monthly"
)


def plan(changes: AccountChanges, ctx: PlanContext) -> PlatformPlan:
    users, destructive = _user_drafts(changes, ctx)
    warnings: list[str] = []
    drift: list[str] = []
    verdicts: list[Verdict] = []
    head: list[Draft] = []
    supply = Supply()
    limited: set[str] = set()
    level: dict[str, int] = {}
    expired_users = {c.licence: c.before.get("users", []) for c in changes.of_kind("expired_trial")}
    for key, pool in changes.pools.items():
        expires = _expiry(pool, ctx)
        if expires is not None and (not pool.active or expires <= ctx.actual.today):
            held = expired_users.get(key) or []
            if held or pool.target:  # a cancelled trial nobody uses or wants is history
                expired = (
                    f"trial {key} expired on {expires}: the subscription is cancelled"
                    + (f" and users {', '.join(map(str, held))} have no service" if held else "")
                )
                warnings.append(expired)
                drift.append(expired)
            if pool.target or pool.in_use_after:
                verdicts.append(
                    Verdict(
                        "trial", f"trial {key} expired on {expires}; move its users to a paid SKU"
                    )
                )
            continue  # nothing to amend on a cancelled trial; its users need no licence
        if not pool.active:
            continue
        if (
            expires is not None
            and pool.target
            and (expires - ctx.actual.today).days <= TRIAL_WARNING_DAYS
        ):
            days = (expires - ctx.actual.today).days
            warnings.append(
                f"trial {key} expires on {expires} (in {days} day{'s' if days != 1 else ''}); "
                "trials cannot be extended: move its users to a paid SKU before then"
            )
        limited.add(key)
        supply.add_free(key, pool.free)
        level[key] = pool.quantity
        if pool.target > pool.quantity:
            made = _amend(ctx, pool, pool.quantity, pool.target, ref=f"order:{key}")
            head.append(made)
            supply.add_ordered(key, made.ref, pool.target - pool.quantity)
            level[key] = pool.target

    def temporary(key: str, n: int) -> tuple[list[Draft], str]:
        made = _amend(
            ctx,
            changes.pools[key],
            level[key],
            level[key] + 1,
            ref=f"temp:{key}:{n}",
            monthly=False,
            warnings=(TEMP_WARNING,),
        )
        level[key] += 1
        return [made], made.ref

    sched = schedule(users, supply, limited, temporary)
    tail: list[Draft] = []
    for key in sorted(limited):
        pool = changes.pools[key]
        if level[key] > pool.target:
            temps = sched.temps.get(key, 0)
            made = _amend(ctx, pool, level[key], pool.target, ref=f"return:{key}", temps=temps)
            made.after.extend(sched.touching.get(key, []))
            tail.append(made)
    projected = changes.projected(ctx.actual)
    warnings.extend(note for lic in projected.licences if lic.active
                    if (note := cheaper_tier(ctx.catalog, lic.key, lic.quantity)))
    return PlatformPlan(
        steps=finish(sched.around(head, tail), changes.name_of),
        projected=projected,
        warnings=tuple(warnings),
        verdicts=tuple(verdicts),
        destructive=frozenset(destructive),
        drift=tuple(drift),
    )


def _expiry(pool: Pool, ctx: PlanContext) -> date | None:
    product = ctx.catalog.product(pool.key)
    if product is None or not product.trial or pool.started_on is None:
        return None
    return pool.started_on + timedelta(days=TRIAL_DAYS)


def _amend(
    ctx: PlanContext,
    pool: Pool,
    before: int,
    after: int,
    *,
    ref: str,
    monthly: bool = True,
    temps: int = 0,
    warnings: tuple[str, ...] = (),
) -> Draft:
    """Amend Subscription up or down; a C2TU-I SKU as a Service Desk request instead."""
    key = pool.key
    product = ctx.catalog.products[key]
    price = product.monthly
    delta = (after - before + (temps if after < before else 0)) * price if monthly else ZERO
    warnings = warnings + temps_returned(temps)
    common = dict(
        licence=key,
        before={"quantity": before},
        after={"quantity": after},
        monthly_delta=delta,
        warnings=warnings,
    )
    if product.internal:
        name = ctx.actual.name or ctx.desired.name or ctx.desired.slug
        request = (
            f"Please amend subscription {key} on account {ctx.desired.external_id} "
            f"({name}) from {before} to {after} licences."
        )
        return ctx.draft(ref, "manual", mode="manual", params={"request": request}, **common)
    action = "order_licences" if after > before else "return_licences"
    totals = {
        "old_total": fmt(before * price),
        "new_total": fmt(after * price),
        "currency": ctx.catalog.currency,
    }
    return ctx.draft(ref, action, params=totals, **common)


def _user_drafts(changes: AccountChanges, ctx: PlanContext) -> tuple[list[Draft], set[int]]:
    """Deletes, then each matched user's steps (renumber first), then new users."""
    after_by_ext = {u.extension: u for u in changes.users_after}
    deletes: list[Draft] = []
    edits: list[Draft] = []
    creates: list[Draft] = []
    destructive: set[int] = set()
    renumbered: dict[int, int] = {}
    renumbers = {c.extension: int(c.before["extension"]) for c in changes.of_kind("renumber_user")}
    # a user whose kind changes (pbx <-> trunk) is deleted and created again (assumed:
    # Call2Teams has no way to change a user's kind in place)
    rekinded = {c.extension for c in changes.of_kind("change_profile")}
    for c in changes.changes:
        ext = c.extension
        if ext is None:
            continue
        root = [f"renumber:{ext}"] if ext in renumbered else []
        if c.kind == "delete_user":
            deletes.append(ctx.delete(ext, c.before, frees=c.before.get("licence")))
            destructive.add(ext)
        elif c.kind == "renumber_user" and ext not in rekinded:
            renumbered[ext] = int(c.before["extension"])
            edits.append(ctx.renumber(c))
        elif c.kind == "change_profile":
            old_ext = renumbers.get(ext, ext)
            old = changes.actual_users[old_ext]
            new = after_by_ext[ext]
            note = (
                f"{ext} changes from {old.profile} to {new.profile}: a Call2Teams user "
                "cannot change its kind, so it is deleted and created again",
            )
            deletes.append(ctx.delete(old_ext, record(old), frees=old.licence, warnings=note))
            creates.append(ctx.create(ext, record(new), needs=new.licence))
            destructive.add(ext)
        elif c.kind == "change_licence" and ext not in rekinded:
            edits.append(ctx.move(f"move:{ext}", c, "licence", root))
        elif c.kind == "update_user" and ext not in rekinded:
            edits.append(ctx.update(c, root))
        elif c.kind == "create_user":
            creates.append(ctx.create(ext, c.after, needs=c.after.get("licence")))
    return deletes + edits + creates, destructive
