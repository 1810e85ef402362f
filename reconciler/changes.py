"""What the diff of one account finds (reconciler.diff): its :class:`Change` kinds, each
licence :class:`Pool` and the whole :class:`AccountChanges` the platform planners turn into
ordered steps. Plain frozen data; ``reconciler.diff`` re-exports it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from reconciler.model import ActualAccount, ActualUser, DesiredUser, Licence
from reconciler.plan import Step

# Account-level kinds first, then user kinds in the order a user's own steps run.
ACCOUNT_KINDS = ("pending_order", "rejected_order", "licence_quantity", "expired_trial")
USER_KINDS = (
    "delete_user",
    "renumber_user",
    "remove_addon",
    "change_profile",
    "change_licence",
    "add_addon",
    "update_user",
    "create_user",
    "unmanaged",
)
_RANK = {k: i for i, k in enumerate(ACCOUNT_KINDS + USER_KINDS)}


@dataclass(frozen=True)
class Change:
    """One difference. ``before``/``after`` are plain dicts, like a step's.

    * user kinds: ``extension`` is the user's extension once the plan is done (its current
      one for ``delete_user`` / ``unmanaged``);
    * account kinds: ``licence`` is the package / SKU.
    """

    kind: str
    extension: int | None = None
    licence: str | None = None
    before: Mapping[str, Any] = field(default_factory=dict, hash=False)
    after: Mapping[str, Any] = field(default_factory=dict, hash=False)
    #: delete_user: "absent" (the file says so) or "prune" (the file does not list it)
    reason: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _RANK:
            raise ValueError(f"unknown change kind {self.kind!r}")

    @property
    def sort_key(self) -> tuple[Any, ...]:
        detail = (sorted(self.before.items()).__repr__(), sorted(self.after.items()).__repr__())
        if self.kind in ACCOUNT_KINDS:
            return (0, 0, self.licence or "", _RANK[self.kind], detail)
        return (1, self.extension or 0, "", _RANK[self.kind], detail)


@dataclass(frozen=True)
class Pool:
    """One licence pool (iPECS package) or subscription (Call2Teams SKU)."""

    key: str
    #: confirmed quantity now (0 for a cancelled subscription); pending orders not included
    quantity: int
    #: users holding one of its licences now
    in_use: int
    #: the quantity the plan ends with
    target: int
    #: users holding one once the plan is done
    in_use_after: int
    #: the target is the file's count (else: exactly what the users need)
    declared: bool
    active: bool = True
    started_on: date | None = None

    @property
    def free(self) -> int:
        return max(self.quantity - self.in_use, 0)


@dataclass(frozen=True)
class AccountChanges:
    account: str
    platform: str
    changes: tuple[Change, ...]
    #: every pool the account has or will have, by key (empty on Mitel)
    pools: Mapping[str, Pool] = field(default_factory=dict, hash=False)
    #: platform users by their current extension
    actual_users: Mapping[int, ActualUser] = field(default_factory=dict, hash=False)
    #: the file's users (absent ones left out) by extension
    desired_users: Mapping[int, DesiredUser] = field(default_factory=dict, hash=False)
    #: the users once the plan is done, by extension (created users have user_id "")
    users_after: tuple[ActualUser, ...] = ()

    def of_kind(self, *kinds: str) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind in kinds)

    @property
    def unmanaged(self) -> tuple[ActualUser, ...]:
        return tuple(self.actual_users[c.extension] for c in self.of_kind("unmanaged")
                     if c.extension is not None)

    def name_of(self, step: Step) -> str:
        """The name of the user a step touches, from the state when it runs: a delete or a
        renumber acts on the platform user at its extension now (a pruned user whose
        extension another user takes over later in the plan is named, not the newcomer);
        a new user and the steps of a kept user name that person."""
        ext = step.user
        if ext is None:
            return ""
        if step.action in ("delete_user", "renumber_user") and ext in self.actual_users:
            return self.actual_users[ext].name
        for u in self.users_after:
            if u.extension == ext:
                return u.name
        current = self.actual_users.get(ext)
        return current.name if current is not None else ""

    def projected(self, actual: ActualAccount) -> ActualAccount:
        """The state the plan leads to (for its bill): users after, pools at target,
        pending orders settled. A cancelled subscription stays cancelled."""
        licences = tuple(
            # a subscription the plan creates starts today
            Licence(p.key, p.target, p.started_on or actual.today, p.active)
            for p in sorted(self.pools.values(), key=lambda p: p.key)
        )
        users = tuple(sorted(self.users_after, key=lambda u: u.extension))
        return replace(actual, users=users, licences=licences or actual.licences, orders=())
