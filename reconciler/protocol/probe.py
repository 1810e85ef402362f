"""The conformance kit's probe: one new user (and, on a platform with pools, one more
licence for it) planned by the platform's own planner, and the plan that removes it again.
Nothing here knows a platform: the product comes from the registry's catalog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from reconciler.model import ActualAccount, DesiredAccount, DesiredUser, Mark, Policy
from reconciler.plan import Step
from reconciler.planner import PlanOptions, plan_account
from reconciler.platforms import PLATFORMS
from reconciler.platforms.base import Platform
from reconciler.steps import check_steps

MARK = Mark("<provider check>", 1, 1)
NAME = "reconciler check"
#: where the probe's extension is sought on an account without sites (assumed free range)
FALLBACK = range(8999, 7999, -1)


def probe_plans(
    start: ActualAccount,
) -> tuple[list[Step], Callable[[ActualAccount], list[Step]]]:
    """The steps that add the probe to ``start``, and a function giving the steps that
    remove it from the account as it is then."""
    platform = PLATFORMS[start.platform]
    user = _probe_user(start, platform)
    licences = {lic.key: lic.quantity for lic in start.licences if lic.active}
    grown: dict[str, int] | None = None
    if platform.pool_field is not None:
        key = str(getattr(user, platform.pool_field))
        grown = {**licences, key: licences.get(key, 0) + 1}
    desired = DesiredAccount(
        slug="provider-check", platform=start.platform, external_id=start.external_id,
        path="", mark=MARK, name=start.name, kind=start.kind, policy=Policy(),
        sites=start.sites, licences=grown, users=(user,),
    )

    def plan(want: DesiredAccount, actual: ActualAccount) -> list[Step]:
        result = plan_account(want, actual, platform.catalog, platform,
                              PlanOptions(allow_downgrade=True, force=True))
        return list(check_steps(result))

    def remove(actual: ActualAccount) -> list[Step]:
        gone = replace(desired, users=(replace(user, absent=True),),
                       licences=licences if grown is not None else None)
        return plan(gone, actual)

    return plan(desired, start), remove


def _probe_user(start: ActualAccount, platform: Platform) -> DesiredUser:
    catalog = platform.catalog
    products = [p for p in catalog.by_rank() if not p.trial and not p.internal]
    kinds = [p for p in products if p.user_kind]
    if kinds:  # users take a licence of a product serving their kind: the smallest tier
        product = min(kinds, key=lambda p: (p.tier or 0, p.rank))
        profile, licence = str(product.user_kind), product.key
    else:
        profile, licence = products[0].key, None
    taken = {u.extension for u in start.users}
    site = start.sites[0] if start.sites else None
    candidates = range(site.last, site.first - 1, -1) if site else FALLBACK
    extension = next((e for e in candidates if e not in taken), None)
    if extension is None:
        from reconciler.errors import ReconcilerError

        raise ReconcilerError(f"account {start.external_id} has no free extension for the probe")
    fields = set(platform.user_fields)
    return DesiredUser(extension=extension, mark=MARK, name=NAME, profile=profile,
                       licence=licence if "licence" in fields else None,
                       site=site.name if site and "site" in fields else None,
                       add_ons=frozenset() if "add_ons" in fields else None)
