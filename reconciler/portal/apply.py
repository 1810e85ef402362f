"""Apply for ``kind: portal`` accounts: nothing is written to a platform; each account with
steps gets its runbook (and import files) next to its exports, and apply exits 3 — nothing
is done until the next exports show it (``reconciler runbook status``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from reconciler.errors import StalePlan
from reconciler.model import ActualAccount
from reconciler.plan import AccountPlan, Plan
from reconciler.portal.provider import PortalProvider, newest_export
from reconciler.portal.runbook import build, write
from reconciler.provider import Provider


@dataclass(frozen=True)
class Written:
    account: str
    paths: tuple[Path, ...]


def write_runbooks(
    plan: Plan, providers: Callable[[str], Provider], *,
    verify: Callable[[AccountPlan, ActualAccount], None] | None = None,
) -> tuple[Plan, list[Written]]:
    """The plan without its portal accounts (for apply proper), and the runbooks written
    for them. ``verify`` (a saved plan): each portal account is read again and refused
    when its exports changed (stale) or ``verify`` raises (the plan made now differs);
    nothing is written unless every account passes."""
    rest = []
    portal = []
    for account in plan.accounts:
        provider = providers(account.platform)
        if isinstance(provider, PortalProvider):
            portal.append((account, provider))
        else:
            rest.append(account)
    for account, provider in portal:
        if verify is None or not account.steps:
            continue
        actual = provider.read_account(account.external_id)
        if actual.fingerprint() != account.fingerprint:
            raise StalePlan(
                "plan is stale: the exports changed since the plan was made "
                f"(account {account.account}); run reconciler plan again"
            )
        verify(account, actual)
    written = []
    for account, provider in portal:
        if not account.steps:
            continue
        paths = write(build(account), provider.folder(account.external_id),
                      newest_export(provider, account.external_id))
        written.append(Written(account.account, tuple(paths)))
    return replace(plan, accounts=tuple(rest)), written
