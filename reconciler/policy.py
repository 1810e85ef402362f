"""Policy verdicts: the plan owns its safety checks (octoDNS ``Plan.raise_if_unsafe``).

Every verdict carries its numbers in the message. Thresholds are the named constants of
reconciler.model, overridable per account (``Policy.destructive_share``). A blocking
verdict makes ``plan`` / ``apply`` exit 1 while the plan is still rendered; a non-blocking
one ("prune not allowed") only warns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

from reconciler.catalog import Catalog
from reconciler.diff import AccountChanges
from reconciler.model import DESTRUCTIVE_MIN_USERS, ActualAccount, DesiredAccount
from reconciler.money import fmt
from reconciler.plan import Cost, Step, Verdict
from reconciler.platforms.base import Platform
from reconciler.sequence import Downgrade, PlatformPlan

#: how many unmanaged users the prune verdict names before "and N more"
PRUNE_NAMES = 10


def evaluate(desired: DesiredAccount, actual: ActualAccount, changes: AccountChanges,
             result: PlatformPlan, cost: Cost, catalog: Catalog, *,
             allow_downgrade: bool = False, force: bool = False) -> tuple[Verdict, ...]:
    """All verdicts of one account plan, blocking ones first, in a fixed order."""
    verdicts: list[Verdict] = []
    if not allow_downgrade:
        verdicts.extend(_downgrades(desired, changes, result.downgrades, catalog))
        verdicts.extend(_losses(desired, result.losses))
    limit = desired.policy.max_monthly_increase
    if limit is not None and cost.monthly_delta > limit:
        verdicts.append(Verdict(
            "budget",
            f"raises the monthly bill by {fmt(cost.monthly_delta)} {cost.currency}, over the "
            f"account's max_monthly_increase of {fmt(limit)}",
        ))
    if desired.kind != "internal":
        for key, pool in changes.pools.items():
            product = catalog.product(key)
            if product is not None and product.internal and (pool.target or pool.in_use_after):
                verdicts.append(Verdict(
                    "internal-sku",
                    f"{key} is an internal-use SKU, only for the partner's own staff: never "
                    f"on client account {desired.external_id}",
                ))
    verdicts.extend(result.verdicts)
    if not force:
        verdicts.extend(_destructive(desired, len(actual.users), len(result.destructive)))
    unmanaged = changes.unmanaged
    if unmanaged:
        names = ", ".join(f"{u.extension} ({u.name})" for u in unmanaged[:PRUNE_NAMES])
        more = f" and {len(unmanaged) - PRUNE_NAMES} more" if len(unmanaged) > PRUNE_NAMES else ""
        verdicts.append(Verdict(
            "prune",
            f"prune not allowed: {_count(len(unmanaged), 'user')} on the platform not in "
            f"the file, kept: {names}{more}; mark them absent: true or set policy.prune: true",
            blocking=False,
        ))
    return tuple(sorted(verdicts, key=lambda v: not v.blocking))


def credential_verdicts(steps: Sequence[Step], platform: Platform,
                        role: str | None) -> list[Verdict]:
    """Preflight: the steps the platform would certainly refuse to this credential's role
    (``Platform.write_roles``), named, so the plan blocks instead of apply failing."""
    if role is None or not platform.write_roles or role in platform.write_roles:
        return []
    refused = [s for s in steps
               if s.mode != "manual" and s.action in platform.role_gated_actions]
    if not refused:
        return []
    named = ", ".join(f"{s.id} {s.label or s.action} {s.target}" for s in refused)
    return [Verdict(
        "credential",
        f"the credential's {platform.role_noun} is {role}: {platform.label} refuses "
        f"{_count(len(refused), 'step')} of this plan ({named}); they need the role "
        f"{' or '.join(platform.write_roles)}",
    )]


def downgrade_warning(catalog: Catalog, extension: int, old: str, new: str,
                      add_ons: Iterable[str] = ()) -> str:
    """'downgrade of 1006 from Advanced CLOUD to Standard CLOUD loses add-on Contact
    Center Agent and included feature Video Meetings'."""
    dropped = [catalog.add_ons[a].display if a in catalog.add_ons else a
               for a in catalog.add_ons_not_allowed(new, add_ons)]
    features = catalog.features_lost(old, new)
    parts = []
    if dropped:
        parts.append(_named("add-on", dropped))
    if features:
        parts.append(_named("included feature", features))
    lost = " and ".join(parts) if parts else "no add-on and no included feature"
    return (f"downgrade of {extension} from {catalog.products[old].display} to "
            f"{catalog.products[new].display} loses {lost}")


def _downgrades(desired: DesiredAccount, changes: AccountChanges,
                downgrades: Sequence[Downgrade], catalog: Catalog) -> list[Verdict]:
    refused = []
    for d in downgrades:
        user = changes.desired_users.get(d.extension)
        per_user = user.allow_downgrade if user is not None else None
        allowed = per_user if per_user is not None else desired.policy.allow_downgrade
        if not allowed:
            refused.append(f"{d.extension} ({catalog.products[d.before].display} -> "
                           f"{catalog.products[d.after].display})")
    if not refused:
        return []
    return [Verdict(
        "downgrade",
        f"downgrade not allowed: {', '.join(refused)}; set allow_downgrade: true on the "
        "user or in the account's policy, or pass --allow-downgrade",
    )]


def _losses(desired: DesiredAccount, losses: Mapping[int, Sequence[str]]) -> list[Verdict]:
    """Data a step destroys (recordings) needs the allow a downgrade needs: the user's
    allow_downgrade (its entry, absent ones included), else the account's."""
    entries = {u.extension: u for u in desired.users}
    refused = []
    for ext, lost in sorted(losses.items()):
        user = entries.get(ext)
        per_user = user.allow_downgrade if user is not None else None
        allowed = per_user if per_user is not None else desired.policy.allow_downgrade
        if not allowed:
            refused.append(f"{ext} ({', '.join(lost)})")
    if not refused:
        return []
    return [Verdict(
        "data-loss",
        f"data loss not allowed: {', '.join(refused)}; set allow_downgrade: true on the "
        "user or in the account's policy, or pass --allow-downgrade",
    )]


def _destructive(desired: DesiredAccount, total: int, count: int) -> list[Verdict]:
    share = desired.policy.destructive_share
    if total < DESTRUCTIVE_MIN_USERS or count == 0 or Decimal(count) / total <= share:
        return []
    pct = (Decimal(count) * 100 / total).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    limit = format((share * 100).normalize(), "f")
    return [Verdict(
        "destructive-share",
        f"deletes, replaces or downgrades {count} of {total} users ({pct}%), over "
        f"{limit}%; --force required",
    )]


def _named(noun: str, names: Sequence[str]) -> str:
    return f"{noun}{'s' if len(names) > 1 else ''} {', '.join(names)}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"
