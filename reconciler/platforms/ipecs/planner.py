"""iPECS Cloud planner: packages from a licence pool, changed by change orders.

Vocabulary (seed 001): a package change ("Change Package") is an upgrade only; a downgrade
deletes and re-creates the user (``replace_user``); licences come and go by change orders
of +n / -n that the platform approves and the reseller then final-confirms. The monthly
bill is the pool, so the monthly deltas sit on the order / return / confirm steps and user
steps cost nothing.

Pending orders (submitted or approved) that fit the pool's need are continued with a
``confirm_order`` of their ``order_id``, never ordered again; one that does not fit (wrong
direction, or more than needed) is left alone with a warning.

Cycles. Package changes are upgrades, so upgrades alone can never wait on each other in a
circle. A downgrade can: ``replace_user`` needs a free licence of the lower package before
it frees its own (docs/steps.md: the platform deletes and re-creates in one operation), so
"210 Premium -> Basic" and "211 Basic -> Premium" on a pool with no free licence wait on
each other. The plan then orders one temporary licence (of the package the first waiting
user needs), zero net monthly, returned with the pool's final return. Splitting the
replace into delete_user + create_user would avoid it (the delete frees the Premium first)
but leaves the user without a phone while the other change runs; we keep replace_user
atomic (assumed to be the safer default) and pay one change order round trip instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from reconciler.diff import AccountChanges, Change, record
from reconciler.money import ZERO
from reconciler.plan import Verdict
from reconciler.policy import downgrade_warning
from reconciler.sequence import (
    Downgrade,
    Draft,
    PlanContext,
    PlatformPlan,
    Supply,
    finish,
    schedule,
    temps_returned,
)

TEMP_WARNING = (
    "temporary licence: the package changes here wait on each other and the "
    "pool has no free licence; returned at the end of this plan, zero net monthly"
)


def plan(changes: AccountChanges, ctx: PlanContext) -> PlatformPlan:
    users, downgrades, destructive = _user_drafts(changes, ctx)
    head: list[Draft] = []
    warnings: list[str] = []
    supply = Supply()
    level: dict[str, int] = {}  # pool quantity once the head of the plan is done
    returns_to_confirm: dict[str, list[Change]] = {}
    pending = _pending(changes)
    rejected: dict[str, tuple[str, ...]] = {}
    for c in changes.of_kind("rejected_order"):
        rejected[str(c.licence)] = (*rejected.get(str(c.licence), ()), str(c.before["order_id"]))
    for key, pool in changes.pools.items():
        price = _price(ctx, key)
        supply.add_free(key, pool.free)
        continued, ignored = _fit(pending.get(key, []), pool.target - pool.quantity)
        warnings.extend(
            f"change order {c.before['order_id']} ({c.before['delta']:+d} {key}, "
            f"{c.before['state']}) is pending but this plan does not need it: it is left "
            "unconfirmed; reject it in Order Final Confirm"
            for c in ignored
        )
        quantity = pool.quantity
        for c in continued:
            delta = int(c.before["delta"])
            if delta < 0:  # a return: confirmed once the users are off the package
                returns_to_confirm.setdefault(key, []).append(c)
                continue
            quantity += delta
            draft = _confirm(ctx, key, quantity, c, delta * price)
            head.append(draft)
            supply.add_ordered(key, draft.ref, delta)
        to_return = sum(int(c.before["delta"]) for c in returns_to_confirm.get(key, []))
        missing = pool.target - quantity - to_return
        if missing > 0:
            made = _change_order(
                ctx,
                "order_licences",
                key,
                quantity,
                quantity + missing,
                missing * price,
                ref=f"order:{key}",
                supersedes=rejected.get(key, ()),
            )
            head.extend(made)
            supply.add_ordered(key, made[-1].ref, missing)
            quantity += missing
        level[key] = quantity
        if pool.target != pool.quantity:
            warnings.extend(
                f"change order {c.before['order_id']} ({c.before['delta']:+d} {key}) was "
                "rejected by the platform; this plan orders again"
                for c in changes.of_kind("rejected_order")
                if c.licence == key
            )

    def temporary(key: str, n: int) -> tuple[list[Draft], str]:
        made = _change_order(
            ctx,
            "order_licences",
            key,
            level[key],
            level[key] + 1,
            ZERO,
            ref=f"temp:{key}:{n}",
            warnings=(TEMP_WARNING,),
        )
        level[key] += 1
        return made, made[-1].ref

    sched = schedule(users, supply, changes.pools, temporary)
    tail: list[Draft] = []
    for key, pool in changes.pools.items():
        price = _price(ctx, key)
        touching = sched.touching.get(key, [])
        quantity = level[key]
        for c in returns_to_confirm.get(key, []):
            quantity += int(c.before["delta"])
            draft = _confirm(ctx, key, quantity, c, int(c.before["delta"]) * price)
            draft.after.extend(touching)
            tail.append(draft)
        if quantity > pool.target:
            temps = sched.temps.get(key, 0)
            made = _change_order(
                ctx,
                "return_licences",
                key,
                quantity,
                pool.target,
                -(quantity - pool.target - temps) * price,
                ref=f"return:{key}",
                warnings=temps_returned(temps),
                supersedes=rejected.get(key, ()),
            )
            made[0].after.extend(touching)
            tail.extend(made)
    return PlatformPlan(
        steps=finish(sched.around(head, tail), changes.name_of),
        projected=changes.projected(ctx.actual),
        warnings=tuple(warnings),
        downgrades=tuple(downgrades),
        destructive=frozenset(destructive),
        verdicts=_missing_sites(ctx),
    )


def _missing_sites(ctx: PlanContext) -> tuple[Verdict, ...]:
    """Preflight: users put on a site the live account does not have (the User Setup form
    offers only the account's sites, so apply would certainly fail). An account read
    without its sites is not judged (assumed)."""
    have = {s.name for s in ctx.actual.sites}
    if not have:
        return ()
    wanted: dict[str, list[int]] = {}
    for u in ctx.desired.users:
        if not u.absent and u.site is not None and u.site not in have:
            wanted.setdefault(u.site, []).append(u.extension)
    return tuple(
        Verdict("preflight",
                f"site {site} is not on iPECS account {ctx.desired.external_id} (its sites: "
                f"{', '.join(sorted(have))}); users {', '.join(map(str, exts))} cannot be "
                "put on it: add the site in the portal first")
        for site, exts in sorted(wanted.items()))


# --------------------------------------------------------------------------- pool steps


def _price(ctx: PlanContext, key: str) -> Decimal:
    return ctx.catalog.products[key].monthly


def _change_order(
    ctx: PlanContext,
    action: str,
    key: str,
    before: int,
    after: int,
    monthly: Decimal,
    *,
    ref: str,
    warnings: tuple[str, ...] = (),
    supersedes: tuple[str, ...] = (),
) -> list[Draft]:
    """A change order (mode approval) and the final confirm that depends on it.

    ``supersedes``: the platform's rejected orders of this package. They go into the step
    so that apply derives a new idempotency key for the new order (the same before/after
    as the rejected one would otherwise get the rejected outcome back)."""
    order = ctx.draft(
        ref,
        action,
        licence=key,
        before={"quantity": before},
        after={"quantity": after},
        monthly_delta=monthly,
        mode="approval",
        warnings=warnings,
        params={"supersedes": list(supersedes)} if supersedes else {},
    )
    confirm = ctx.draft(
        f"confirm:{ref}", "confirm_order", licence=key, after={"quantity": after}, deps=[ref]
    )
    return [order, confirm]


def _confirm(ctx: PlanContext, key: str, quantity: int, order: Change, monthly: Decimal) -> Draft:
    """Continue an order already on the platform: final-confirm it, never order again."""
    order_id = str(order.before["order_id"])
    waits = (
        (
            f"change order {order_id} still waits for the platform's approval; apply "
            "confirms it once approved",
        )
        if order.before["state"] == "submitted"
        else ()
    )
    return ctx.draft(
        f"confirm:{order_id}",
        "confirm_order",
        licence=key,
        after={"quantity": quantity},
        params={"order_id": order_id},
        monthly_delta=monthly,
        warnings=waits,
    )


def _pending(changes: AccountChanges) -> dict[str, list[Change]]:
    by_key: dict[str, list[Change]] = {}
    for c in sorted(
        changes.of_kind("pending_order"),
        key=lambda c: (c.before["submitted_on"], str(c.before["order_id"])),
    ):
        assert c.licence is not None
        by_key.setdefault(c.licence, []).append(c)
    return by_key


def _fit(orders: list[Change], need: int) -> tuple[list[Change], list[Change]]:
    """Pending orders to continue (same direction as the need, oldest first, while their
    sum stays within it) and the ones left alone."""
    keep: list[Change] = []
    left: list[Change] = []
    running = 0
    for c in orders:
        delta = int(c.before["delta"])
        if need != 0 and (delta > 0) == (need > 0) and abs(running + delta) <= abs(need):
            keep.append(c)
            running += delta
        else:
            left.append(c)
    return keep, left


# --------------------------------------------------------------------------- users


def _only(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {key: data[key]} if key in data else {}


def _without(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


def _user_drafts(
    changes: AccountChanges, ctx: PlanContext
) -> tuple[list[Draft], list[Downgrade], set[int]]:
    """Deletes, then each matched user's steps (renumber first), then new users."""
    fields = ctx.user_fields
    after_by_ext = {u.extension: u for u in changes.users_after}
    deletes: list[Draft] = []
    edits: list[Draft] = []
    creates: list[Draft] = []
    downgrades: list[Downgrade] = []
    destructive: set[int] = set()
    renumbered: dict[int, int] = {}  # new extension -> old
    # a site move: the new extension is in the new site's range only, so the extension
    # and the site change in one Modify (seed 001: one User Setup form holds both)
    moves = {c.extension: c for c in changes.of_kind("update_user") if "site" in c.after}
    replaced = {
        c.extension
        for c in changes.of_kind("change_profile")
        if ctx.catalog.is_downgrade(c.before["profile"], c.after["profile"])
    }
    for c in changes.changes:
        ext = c.extension
        if ext is None:
            continue
        root = [f"renumber:{ext}"] if ext in renumbered else []
        if c.kind == "delete_user":
            deletes.append(ctx.delete(ext, c.before, frees=c.before["profile"]))
            destructive.add(ext)
        elif c.kind == "renumber_user":
            renumbered[ext] = int(c.before["extension"])
            move = moves.get(ext)
            if move is not None:
                c = replace(c, before={**c.before, **_only(move.before, "site")},
                            after={**c.after, "site": move.after["site"]})
            edits.append(ctx.renumber(c))
        elif c.kind == "change_profile" and ext in replaced:
            old, new = c.before["profile"], c.after["profile"]
            before = record(changes.actual_users[renumbered.get(ext, ext)], fields)
            before["extension"] = ext
            edits.append(
                ctx.draft(
                    f"user:{ext}",
                    "replace_user",
                    user=ext,
                    before=before,
                    after=record(after_by_ext[ext], fields),
                    needs=new,
                    frees=old,
                    deps=root,
                    warnings=(
                        f"voicemail and settings of {ext} are lost: iPECS changes packages "
                        "upgrade-only, so the user is deleted and created again",
                        downgrade_warning(ctx.catalog, ext, old, new),
                    ),
                )
            )
            downgrades.append(Downgrade(ext, old, new))
            destructive.add(ext)
        elif c.kind == "change_profile":
            edits.append(ctx.move(f"user:{ext}", c, "profile", root))
        elif c.kind == "update_user" and ext not in replaced:
            # a replaced user is created with its new fields already
            if ext in renumbered and ext in moves:  # the site moved with the extension
                c = replace(c, before=_without(c.before, "site"), after=_without(c.after, "site"))
                if not c.after:
                    continue
            edits.append(ctx.update(c, root))
        elif c.kind == "create_user":
            creates.append(ctx.create(ext, c.after, needs=c.after["profile"]))
    return deletes + edits + creates, downgrades, destructive
