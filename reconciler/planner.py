"""From files and live state to a :class:`~reconciler.plan.Plan`.

``plan_account`` is pure: diff -> the platform's planner -> costs -> policy verdicts.
``make_plan`` is the I/O around it (reconciler/session.py): load the files and price books,
read each account's live state, a few accounts at a time (memory stays bounded).

The ordering model (reconciler/sequence.py, shared by every platform):

* **Licences first.** A pool that must grow is ordered at the head of the plan (iPECS: a
  change order in mode ``approval`` plus its ``confirm_order``; Call2Teams: Amend
  Subscription). A pending order on the platform that fits the need is continued with a
  ``confirm_order`` of its id instead of ordering again.
* **Users in between,** in a fixed order: deletes, then each kept user's steps (its
  renumber first, the rest depending on it), then new users. A step that needs a licence
  of a package / SKU takes, in this order: one free now, one freed earlier in the plan by
  another user (a delete, an upgrade away from it, a move) — so a licence freed by one user
  is reused by another rather than ordered — or one ordered at the head, and depends on
  the step that provided it. A step with no licence available waits (moves later) until
  another user's step frees one.
* **A cycle** (every waiting step waits for a licence that only another waiting step
  frees, with none free or ordered) gets one temporary licence of the first waiting step's
  package ordered at the head, zero net monthly, returned at the end. On iPECS this happens
  only with a downgrade (``replace_user``, which needs the lower package before it frees
  its own) paired with an upgrade into the package it frees, on a full pool.
* **Returns last:** a pool that must shrink is returned at the end, depending on every
  user step that takes or frees one of its licences (users are off it first).
* Steps that take an extension wait for the step that frees it (a delete, a renumber).

Ids are ``s1``, ``s2``, ... in final order, so the same input always gives the same plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from reconciler.catalog import Catalog
from reconciler.config import Config
from reconciler.diff import diff
from reconciler.margin import customer_catalog, markup_for
from reconciler.model import ActualAccount, DesiredAccount
from reconciler.money import ZERO
from reconciler.plan import AccountPlan, Cost, Plan
from reconciler.platforms.base import Platform
from reconciler.policy import credential_verdicts, evaluate
from reconciler.pool import DEFAULT_PARALLELISM
from reconciler.prices import bill_warning, samples, state_items, step_items
from reconciler.sequence import PlanContext, PlatformPlan, total

if TYPE_CHECKING:
    from reconciler.session import Session


@dataclass(frozen=True)
class PlanOptions:
    #: --allow-downgrade: every downgrade in the plan is allowed
    allow_downgrade: bool = False
    #: --force: the destructive-share policy does not block
    force: bool = False


def plan_account(desired: DesiredAccount, actual: ActualAccount, catalog: Catalog,
                 platform: Platform, options: PlanOptions = PlanOptions(), *,
                 role: str | None = None, fingerprint: bool = True) -> AccountPlan:
    """The plan of one account. Pure: no I/O. Raises InputError for a file the live state
    contradicts (see reconciler.diff.diff). ``role``: the provider credential's role
    (``Config.role``), for the preflight verdicts. ``fingerprint=False``: the plan is only
    shown, never saved nor applied, so the live state's fingerprint is not computed
    (``AccountPlan.fingerprint`` is None)."""
    changes = diff(desired, actual, platform.pool_field)
    ctx = PlanContext(desired=desired, actual=actual, catalog=catalog, words=platform.words,
                      user_fields=frozenset(platform.user_fields))
    result: PlatformPlan = platform.planner(changes, ctx)
    steps = tuple(replace(s, sample_prices=samples(step_items(s, catalog), catalog))
                  for s in result.steps)
    used = (state_items(actual, catalog) | state_items(result.projected, catalog)
            | {i for s in result.steps for i in step_items(s, catalog)})
    estimate = platform.monthly_bill(actual, catalog)
    billed = actual.billed_monthly
    foreign = billed is not None and actual.billed_currency not in (None, catalog.currency)
    if foreign:
        billed = None  # a bill in another currency cannot stand for the price book's
    cost = Cost(
        # what the platform bills when it says so; the price book's estimate otherwise
        monthly_before=billed if billed is not None else estimate,
        monthly_after=platform.monthly_bill(result.projected, catalog),
        estimate_before=estimate if billed is not None else None,
        one_time=total(s.one_time for s in result.steps),
        currency=catalog.currency,
        prices_used=tuple(sorted(used)),
        prices_sample=samples(used, catalog),
    )
    selling = customer_catalog(catalog, markup_for(catalog, desired.markup))
    if selling is not None:
        # the same plan at the customer's prices: its money is the revenue side
        resold = platform.planner(changes, replace(ctx, catalog=selling))
        revenue = {s.id: s.monthly_delta for s in resold.steps}
        steps = tuple(replace(s, revenue_delta=revenue.get(s.id, ZERO)) for s in steps)
        cost = replace(cost, revenue_before=platform.monthly_bill(actual, selling),
                       revenue_after=platform.monthly_bill(result.projected, selling))
    verdicts = evaluate(desired, actual, changes, result, cost, catalog,
                        allow_downgrade=options.allow_downgrade, force=options.force)
    verdicts = (*credential_verdicts(steps, platform, role), *verdicts)
    return AccountPlan(
        account=desired.slug,
        platform=desired.platform,
        external_id=desired.external_id,
        fingerprint=actual.fingerprint() if fingerprint else None,
        steps=steps,
        cost=cost,
        warnings=result.warnings + bill_warning(cost, actual if foreign else None),
        blocked=verdicts,
        unmanaged=tuple({"extension": u.extension, "name": u.name, "profile": u.profile}
                        for u in changes.unmanaged),
        path=desired.path,
        drift=result.drift,
    )


def make_plan(paths: Sequence[str], config: Config, options: PlanOptions = PlanOptions(), *,
              account: str | None = None, parallelism: int = DEFAULT_PARALLELISM,
              observe: Callable[[DesiredAccount, ActualAccount, AccountPlan], None]
              | None = None) -> Plan:
    """Load the account files under ``paths``, read each account's live state and plan it
    (:meth:`reconciler.session.Session.plan`, the one orchestration path); ``observe``
    sees each account's desired and actual state with its plan."""
    from reconciler.session import Session

    with Session(config, options, parallelism=parallelism) as session:
        plan = session.plan(paths, account=account, observe=observe)
        return replace(plan, using=run_using(session))


def run_using(session: Session) -> dict[str, str]:
    """What a run read from, for the text plan's first line (``Plan.using``): the config,
    the price book and each platform's provider opened by ``session``."""
    from reconciler.pricebook import pricebook_path

    config = session.config
    book = pricebook_path(config)
    return {
        "config": config.source or "no reconciler.yaml (defaults)",
        "price book": str(book) if book is not None else "none (sample prices)",
        **session.providers.labels(),
    }
