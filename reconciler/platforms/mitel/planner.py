"""Mitel Connect CLOUD planner: one profile type per user, add-ons per user, no pools.

Vocabulary (seed 000): changing a profile type is a **Swap**; add-ons the new profile does
not allow are dropped by the swap itself; a swap never charges the one-time NRC again, a new
user pays its profile's NRC plus its add-ons' one-time charges.

A user's steps: renumber first; then the add-ons the file drops that the swap would not
drop (an add-on before the add-ons it requires: recording-archive before call-recording);
then the Swap; then the add-ons the file adds (requirements first) once the new profile
allows them. Field edits only wait for the renumber.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal

from reconciler.catalog import Catalog
from reconciler.diff import AccountChanges, Change
from reconciler.policy import downgrade_warning
from reconciler.sequence import (
    Downgrade,
    Draft,
    PlanContext,
    PlatformPlan,
    Supply,
    finish,
    schedule,
    total,
)

# (assumed) Data that goes with a feature or add-on when a user loses it.
DATA_LOST = {
    "voicemail": "stored voicemail messages",
    "call-recording": "stored call recordings",
    "recording-archive": "archived call recordings",
}
#: add-ons whose removal destroys data the user cannot get back: a loss (issue: gated like a
#: downgrade, counted in the destructive share)
RECORDINGS = ("call-recording", "recording-archive")


def plan(changes: AccountChanges, ctx: PlanContext) -> PlatformPlan:
    cat = ctx.catalog
    drafts: list[Draft] = []
    creates: list[Draft] = []
    downgrades: list[Downgrade] = []
    destructive: set[int] = set()
    kept_after = {u.extension: u for u in changes.users_after}
    by_user: dict[int, list[Change]] = {}
    for c in changes.changes:
        if c.extension is None or c.kind == "unmanaged":
            continue
        if c.kind == "delete_user":
            monthly = _monthly(cat, c.before["profile"], c.before.get("add_ons", ()))
            drafts.append(ctx.delete(
                c.extension, c.before, monthly_delta=-monthly,
                warnings=_data_lost(c.extension, sorted(set(c.before.get("add_ons", ()))
                                                        & set(RECORDINGS)))))
            destructive.add(c.extension)
        elif c.kind == "create_user":
            add_ons = c.after.get("add_ons", ())
            creates.append(
                ctx.create(
                    c.extension,
                    c.after,
                    monthly_delta=_monthly(cat, c.after["profile"], add_ons),
                    one_time=cat.products[c.after["profile"]].one_time
                    + total(cat.add_ons[a].one_time for a in add_ons),
                )
            )
        else:
            by_user.setdefault(c.extension, []).append(c)

    for ext, user_changes in by_user.items():
        made, lost = _user(ctx, ext, user_changes, changes)
        drafts.extend(made)
        swap = next((c for c in user_changes if c.kind == "change_profile"), None)
        if swap is not None and cat.is_downgrade(swap.before["profile"], swap.after["profile"]):
            downgrades.append(Downgrade(ext, swap.before["profile"], swap.after["profile"]))
            destructive.add(ext)
        if lost and ext in kept_after:
            # add-ons the file does not manage, dropped by the swap
            u = kept_after[ext]
            kept_after[ext] = replace(u, add_ons=u.add_ons - lost)

    losses = _losses(drafts)
    destructive |= set(losses)
    sched = schedule(drafts + creates, Supply(), ())
    projected = replace(
        changes.projected(ctx.actual),
        users=tuple(sorted(kept_after.values(), key=lambda u: u.extension)),
    )
    return PlatformPlan(
        steps=finish(sched.drafts, changes.name_of),
        projected=projected,
        downgrades=tuple(downgrades),
        destructive=frozenset(destructive),
        losses=losses,
    )


def _losses(drafts: Iterable[Draft]) -> dict[int, tuple[str, ...]]:
    """Users whose recordings a remove_addon or a delete destroys: gated like a downgrade
    and counted in the destructive share (a swap that drops them is a downgrade already)."""
    out: dict[int, tuple[str, ...]] = {}
    for d in drafts:
        st = d.step
        if st.user is None:
            continue
        if st.action == "remove_addon":
            gone = {str((st.before or {}).get("add_on"))} & set(RECORDINGS)
        elif st.action == "delete_user":
            gone = set((st.before or {}).get("add_ons", ())) & set(RECORDINGS)
        else:
            continue
        if gone:
            out[st.user] = tuple(sorted({*out.get(st.user, ()), *(DATA_LOST[k] for k in gone)}))
    return out


def _monthly(cat: Catalog, profile: str, add_ons: Iterable[str]) -> Decimal:
    return cat.products[profile].monthly + total(cat.add_ons[a].monthly for a in add_ons)


def _user(
    ctx: PlanContext, ext: int, user_changes: list[Change], changes: AccountChanges
) -> tuple[list[Draft], frozenset[str]]:
    """One matched user's drafts, and the add-ons its swap drops that the file does not
    manage (they leave the projected state too)."""
    cat = ctx.catalog
    out: list[Draft] = []
    kinds = {c.kind: c for c in user_changes}
    root: list[str] = []
    renumber = kinds.get("renumber_user")
    old_ext = ext
    if renumber is not None:
        old_ext = int(renumber.before["extension"])
        out.append(ctx.renumber(renumber))
        root = [out[-1].ref]
    actual = changes.actual_users[old_ext]
    swap = kinds.get("change_profile")
    new_profile = swap.after["profile"] if swap is not None else actual.profile
    allowed = cat.products[new_profile].add_ons
    removing = {c.before["add_on"] for c in user_changes if c.kind == "remove_addon"}
    adding = {c.after["add_on"] for c in user_changes if c.kind == "add_addon"}
    # what the swap drops anyway needs no step of its own; a remove that an add-on only
    # the swap drops still requires must wait for the swap
    explicit = sorted(a for a in removing if swap is None or a in allowed)
    present = actual.add_ons - set(explicit)  # at the swap, if every remove went first
    swap_drops = present - _kept(cat, new_profile, present) if swap is not None else set()
    after = {a for a in explicit if any(a in _requires(cat, b) for b in swap_drops)}
    lost: frozenset[str] = frozenset()
    pre = [a for a in explicit if a not in after]
    remove_refs = _removes(ctx, ext, pre, root, out)
    after_swap = root
    if swap is not None:
        old_profile = swap.before["profile"]
        before_add_ons = actual.add_ons - set(pre)
        kept = _kept(cat, new_profile, before_add_ons)
        dropped = before_add_ons - kept
        lost = dropped - removing
        warnings: list[str] = []
        if cat.is_downgrade(old_profile, new_profile) or dropped:
            warnings.append(downgrade_warning(cat, ext, old_profile, new_profile,
                                              before_add_ons))
            gone = sorted(dropped) + sorted(
                f for f in cat.products[old_profile].included
                - cat.products[new_profile].included
            )
            warnings.extend(_data_lost(ext, gone))
        out.append(ctx.draft(
            f"swap:{ext}", "change_profile", user=ext,
            before={"profile": old_profile, "add_ons": sorted(before_add_ons)},
            after={"profile": new_profile, "add_ons": sorted(kept)},
            monthly_delta=cat.products[new_profile].monthly - cat.products[old_profile].monthly
            - total(cat.add_ons[a].monthly for a in dropped),
            deps=root + list(remove_refs.values()), warnings=tuple(warnings),
        ))
        after_swap = [out[-1].ref]
    _removes(ctx, ext, sorted(after), after_swap, out)
    add_refs: dict[str, str] = {}
    for a in _requirements_first(cat, sorted(adding)):
        waits = [add_refs[b] for b in _requires(cat, a) if b in add_refs]
        out.append(
            ctx.draft(
                f"add:{ext}:{a}",
                "add_addon",
                user=ext,
                after={"add_on": a},
                monthly_delta=cat.add_ons[a].monthly,
                one_time=cat.add_ons[a].one_time,
                deps=after_swap + waits,
            )
        )
        add_refs[a] = out[-1].ref
    update = kinds.get("update_user")
    if update is not None:
        out.append(ctx.update(update, root))
    return out, lost


def _removes(ctx: PlanContext, ext: int, add_ons: list[str], deps: list[str],
             out: list[Draft]) -> dict[str, str]:
    """remove_addon drafts, an add-on before the add-ons it requires."""
    cat = ctx.catalog
    refs: dict[str, str] = {}
    for a in _dependents_first(cat, add_ons):
        waits = [refs[b] for b in add_ons if b in refs and a in _requires(cat, b)]
        out.append(ctx.draft(
            f"remove:{ext}:{a}", "remove_addon", user=ext, before={"add_on": a},
            monthly_delta=-cat.add_ons[a].monthly, deps=deps + waits,
            warnings=_data_lost(ext, [a]),
        ))
        refs[a] = out[-1].ref
    return refs


def _kept(cat: Catalog, profile: str, add_ons: frozenset[str]) -> frozenset[str]:
    """The add-ons a swap to ``profile`` keeps: those it allows whose required add-ons are
    kept too (the platform drops the rest)."""
    kept = frozenset(a for a in add_ons if a in cat.products[profile].add_ons)
    while True:
        ok = frozenset(a for a in kept if _requires(cat, a) <= kept)
        if ok == kept:
            return kept
        kept = ok


def _requires(cat: Catalog, add_on: str) -> frozenset[str]:
    a = cat.add_ons.get(add_on)
    return a.requires if a is not None else frozenset()


def _requirements_first(cat: Catalog, add_ons: list[str]) -> list[str]:
    """Add-ons in an order where each comes after those it requires (small sets)."""
    placed: list[str] = []
    todo = list(add_ons)
    while todo:
        ready = [a for a in todo if not (_requires(cat, a) & set(todo))]
        if not ready:  # a requirement cycle: the catalog has none; keep the rest as is
            ready = todo[:1]
        placed.extend(ready)
        todo = [a for a in todo if a not in ready]
    return placed


def _dependents_first(cat: Catalog, add_ons: list[str]) -> list[str]:
    return list(reversed(_requirements_first(cat, add_ons)))


def _data_lost(ext: int, lost: Iterable[str]) -> tuple[str, ...]:
    data = [DATA_LOST[k] for k in lost if k in DATA_LOST]
    return (f"data lost: {', '.join(data)} of {ext}",) if data else ()
