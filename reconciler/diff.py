"""The pure diff of one account: desired state (the file) against actual state (the
platform). No I/O, no prices, no platform vocabulary: the platform planners turn these
changes into ordered steps.

Matching: a desired user with ``renumbered_from: X`` claims the platform user at X (a
renumber that keeps the user); every other desired user claims the platform user at its own
extension. Platform users nobody claims are deleted when ``policy.prune`` is on and are
otherwise kept and reported as unmanaged.

``None`` in the desired state means "not managed": a field, the add-on set or the licence
counts left out of the file are never changed. The licence pools (iPECS packages, Call2Teams
subscriptions) get a target: the declared count, or, when ``licences`` is omitted, exactly
what the users need after the plan (declared and unmanaged users alike).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from reconciler.changes import (
    ACCOUNT_KINDS,
    USER_KINDS,
    AccountChanges,
    Change,
    Pool,
)
from reconciler.errors import InputError
from reconciler.model import ActualAccount, ActualUser, DesiredAccount, DesiredUser

__all__ = ["ACCOUNT_KINDS", "FIELDS", "USER_KINDS", "AccountChanges", "Change", "Pool", "diff",
           "record"]

#: User fields compared one by one (profile, add-ons, licence and extension have kinds of
#: their own). Only fields the file sets are compared.
FIELDS = ("name", "email", "site", "caller_id", "call_barring", "fraud_limit")

class _Registry:
    """The default of ``diff``'s ``pool_field``: ask the platform registry."""


_REGISTRY = _Registry()

# --------------------------------------------------------------------------- diff


def diff(
    desired: DesiredAccount, actual: ActualAccount, pool_field: str | None | _Registry = _REGISTRY
) -> AccountChanges:
    """Every difference between ``desired`` and ``actual``, sorted by ``Change.sort_key``.

    ``pool_field``: the user field naming the pool licence a user consumes
    (``Platform.pool_field``; None: the platform has no pools); by default the registry's.

    Raises InputError for what only the live state can reveal: a declared licence count
    below what the users need (unmanaged users are only known now), a new user without a
    profile, an extension the plan needs that an unmanaged user holds.
    """
    actual_users = {u.extension: u for u in actual.users}
    desired_users = {u.extension: u for u in desired.users if not u.absent}
    changes: list[Change] = []
    after: dict[int, ActualUser] = {}

    claimed = _renumbers(desired, actual_users, desired_users)
    by_renumber = {d.extension for d in claimed.values()}

    for d in desired.users:
        if d.absent:
            if d.extension in actual_users and d.extension not in claimed:
                changes.append(_delete(actual_users[d.extension], "absent"))
                claimed[d.extension] = d
            continue
        if d.extension in by_renumber:
            old = d.renumbered_from
            assert old is not None
            changes.append(Change("renumber_user", d.extension,
                                  before={"extension": old}, after={"extension": d.extension}))
            after[d.extension] = _compare(d, actual_users[old], changes)
        elif d.extension in actual_users and d.extension not in claimed:
            claimed[d.extension] = d
            after[d.extension] = _compare(d, actual_users[d.extension], changes)
        else:
            changes.append(Change("create_user", d.extension, after=record(d)))
            after[d.extension] = _new_user(d)

    for ext, u in actual_users.items():
        if ext in claimed:
            continue
        if desired.policy.prune:
            changes.append(_delete(u, "prune"))
        else:
            changes.append(Change("unmanaged", ext,
                                  before={"name": u.name, "profile": u.profile}))
            if ext in after:
                # a new user or a renumber wants the extension an unmanaged user keeps
                raise InputError(
                    f"extension {ext} is held on the platform by {u.name!r}, which the file "
                    "does not list: mark it absent: true or set policy.prune: true",
                    mark=desired_users[ext].mark,
                )
            after[ext] = u

    pools: dict[str, Pool] = {}
    if isinstance(pool_field, _Registry):
        from reconciler.platforms import get  # the registry imports the planners, and they us

        pool_field = get(desired.platform).pool_field
    if pool_field is not None:
        pools = _pools(desired, actual, after.values(), pool_field, changes)
    for order in actual.orders:
        if order.pending or order.state == "rejected":
            changes.append(Change(
                "pending_order" if order.pending else "rejected_order",
                licence=order.licence,
                before={"order_id": order.order_id, "delta": order.delta,
                        "state": order.state, "submitted_on": order.submitted_on.isoformat()},
            ))

    changes.sort(key=lambda c: c.sort_key)
    return AccountChanges(
        account=desired.slug,
        platform=desired.platform,
        changes=tuple(changes),
        pools=pools,
        actual_users=actual_users,
        desired_users=desired_users,
        users_after=tuple(after.values()),
    )


def _renumbers(desired: DesiredAccount, actual_users: Mapping[int, ActualUser],
               desired_users: Mapping[int, DesiredUser]) -> dict[int, DesiredUser]:
    """Old extension -> the desired user that renumbers the platform user there.

    A renumber happens when its old extension is on the platform and its new one is free,
    or is being freed by another renumber (a chain, resolved in any order). When both are on
    the platform and the file lists a user at the old extension, the renumber is taken as
    done already (the old extension was reused); otherwise the user holding the new
    extension must go (prune) or the diff refuses it. A cycle of renumbers has no free
    extension to pass through and is refused.
    """
    waiting: dict[int, DesiredUser] = {}  # new extension -> candidate
    for d in desired_users.values():
        old = d.renumbered_from
        if old is not None and old != d.extension and old in actual_users:
            waiting[d.extension] = d
    claimed: dict[int, DesiredUser] = {}
    # a worklist: claiming an old extension frees it for the candidate renumbering onto it
    olds = _olds(waiting)
    work = [e for e, d in waiting.items()
            if e not in actual_users or (e not in olds and d.renumbered_from not in desired_users)]
    while work:
        ext = work.pop()
        if ext not in waiting:
            continue
        d = waiting.pop(ext)
        if d.renumbered_from is None:
            continue
        claimed[d.renumbered_from] = d
        if d.renumbered_from in waiting:
            work.append(d.renumbered_from)
    olds = _olds(waiting)
    cycle = [d for e, d in waiting.items() if e in olds]
    if cycle:
        d = min(cycle, key=lambda u: u.extension)
        raise InputError(
            f"renumbering {d.renumbered_from} -> {d.extension} is part of a cycle with no free "
            "extension between: renumber through a free extension in two plans",
            mark=d.where("renumbered_from"),
        )
    return claimed


def _olds(waiting: Mapping[int, DesiredUser]) -> set[int]:
    return {d.renumbered_from for d in waiting.values() if d.renumbered_from is not None}


def record(user: DesiredUser | ActualUser, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The "full record" of docs/steps.md: only the keys with a value (and, given
    ``fields``, only those and ``extension``)."""
    keep = None if fields is None else {"extension", *fields}
    out: dict[str, Any] = {}
    for name in ("extension", "name", "email", "site", "profile", "add_ons", "licence",
                 *FIELDS[3:]):
        value = getattr(user, name)
        if value is None or (keep is not None and name not in keep):
            continue
        out[name] = sorted(value) if name == "add_ons" else value
    return out


def _delete(user: ActualUser, reason: str) -> Change:
    return Change("delete_user", user.extension, before=record(user), reason=reason)


def _compare(d: DesiredUser, a: ActualUser, out: list[Change]) -> ActualUser:
    """Append the changes of one matched user; return its record after the plan."""
    ext = d.extension
    if d.profile is not None and d.profile != a.profile:
        out.append(Change("change_profile", ext, before={"profile": a.profile},
                          after={"profile": d.profile}))
    if d.licence is not None and d.licence != a.licence:
        out.append(Change("change_licence", ext, before={"licence": a.licence},
                          after={"licence": d.licence}))
    if d.add_ons is not None:
        out.extend(Change("remove_addon", ext, before={"add_on": k})
                   for k in sorted(a.add_ons - d.add_ons))
        out.extend(Change("add_addon", ext, after={"add_on": k})
                   for k in sorted(d.add_ons - a.add_ons))
    before: dict[str, Any] = {}
    changed: dict[str, Any] = {}
    for name in FIELDS:
        want = getattr(d, name)
        if want is not None and want != getattr(a, name):
            before[name] = getattr(a, name)
            changed[name] = want
    if changed:
        out.append(Change("update_user", ext,
                          before={k: v for k, v in before.items() if v is not None},
                          after=changed))
    elif (ext == a.extension and (d.profile is None or d.profile == a.profile)
          and (d.licence is None or d.licence == a.licence)
          and (d.add_ons is None or d.add_ons == a.add_ons)):
        return a  # unchanged (most users of most plans): no copy
    return replace(
        a,
        extension=ext,
        profile=d.profile if d.profile is not None else a.profile,
        licence=d.licence if d.licence is not None else a.licence,
        add_ons=d.add_ons if d.add_ons is not None else a.add_ons,
        **changed,
    )


def _new_user(d: DesiredUser) -> ActualUser:
    if d.profile is None:
        raise InputError(f"user {d.extension} is new on the platform and needs a profile",
                         mark=d.mark)
    if not d.name:  # every platform refuses a user without one (seeds 000-002)
        raise InputError(f"user {d.extension} is new on the platform and needs a name",
                         mark=d.mark)
    return ActualUser(
        extension=d.extension, user_id="", name=d.name or "", profile=d.profile,
        email=d.email, site=d.site, add_ons=d.add_ons or frozenset(), licence=d.licence,
        caller_id=d.caller_id, call_barring=d.call_barring, fraud_limit=d.fraud_limit,
    )


def _pools(desired: DesiredAccount, actual: ActualAccount, users_after: Iterable[ActualUser],
           pool_field: str, changes: list[Change]) -> dict[str, Pool]:
    in_use: dict[str, int] = {}
    for u in actual.users:
        key = getattr(u, pool_field)
        if key is not None:
            in_use[key] = in_use.get(key, 0) + 1
    need: dict[str, int] = {}
    for u in users_after:
        key = getattr(u, pool_field)
        if key is None:
            raise InputError(f"user {u.extension} needs a {pool_field} on {desired.platform}",
                             mark=desired.mark)
        need[key] = need.get(key, 0) + 1
    unmanaged = {c.extension for c in changes if c.kind == "unmanaged"}
    unmanaged_need: dict[str, int] = {}
    for u in actual.users:
        if u.extension in unmanaged:
            key = getattr(u, pool_field)
            unmanaged_need[key] = unmanaged_need.get(key, 0) + 1

    held = {lic.key: lic for lic in actual.licences}
    keys = sorted(set(held) | set(need) | set(in_use) | set(desired.licences or {}))
    pools: dict[str, Pool] = {}
    for key in keys:
        lic = held.get(key)
        quantity = lic.quantity if lic is not None and lic.active else 0
        declared = desired.licences is not None
        target = (desired.licences or {}).get(key, 0) if declared else need.get(key, 0)
        if target < need.get(key, 0):
            extra = unmanaged_need.get(key, 0)
            hint = (f" ({extra} of them unmanaged on the platform: mark them absent: true, "
                    "set policy.prune: true or raise the count)") if extra else ""
            raise InputError(
                f"licences: {key} is {target}, but the users need {need[key]}{hint}",
                mark=desired.marks.get(f"licences.{key}") or desired.where("licences"),
            )
        pool = Pool(
            key=key, quantity=quantity, in_use=in_use.get(key, 0), target=target,
            in_use_after=need.get(key, 0), declared=declared,
            active=lic.active if lic is not None else True,
            started_on=lic.started_on if lic is not None else None,
        )
        pools[key] = pool
        if not pool.active:
            users = sorted(u.extension for u in actual.users if getattr(u, pool_field) == key)
            changes.append(Change("expired_trial", licence=key,
                                  before={"quantity": lic.quantity if lic else 0,
                                          "users": users},
                                  after={"quantity": target}))
        elif target != quantity:
            changes.append(Change("licence_quantity", licence=key,
                                  before={"quantity": quantity}, after={"quantity": target}))
    return pools
