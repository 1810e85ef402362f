"""Apply: the only place that writes to a platform.

Several accounts at a time (``ApplySettings.parallelism``; progress and report keep plan
order), each under its lock: read the actual state again, refuse a plan made from another
state (stale) before anything is written, then perform the steps in dependency order through
``Provider.perform`` with an idempotency key per step. A permanent failure skips the steps
that depend on it and nothing else; a transient one is retried with backoff; an iPECS change
order is polled until the platform approves it, then final-confirmed. Every outcome is
journaled. When the desired state is at hand, the account is planned again afterwards and
whatever is still needed runs in another round (level-triggered), so a run cut short by a
crash simply resumes from the platform's state on the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import replace
from typing import Protocol

from reconciler.apply_steps import ApplySettings, StepRunner
from reconciler.errors import LockHeld, ReconcilerError, StalePlan
from reconciler.model import ActualAccount
from reconciler.plan import AccountPlan, Plan
from reconciler.pool import OrderedProgress, ordered_map
from reconciler.progress import (
    AccountReport,
    ApplyReport,
    Progress,
    StepResult,
)
from reconciler.provider import Provider
from reconciler.review import difference, mismatch
from reconciler.state import LockInfo, Scope
from reconciler.steps import InvalidPlan, check_steps, step_digest

log = logging.getLogger(__name__)

#: what callers import from here (the settings and reports are defined beside their users)
__all__ = ["MAX_ROUNDS", "AccountReport", "Applier", "ApplyReport", "ApplySettings", "Remainder",
           "Replan", "Shelf"]


#: a fresh plan after a pass may still have work (a platform that changed under us, a
#: planner that needs two passes); bounded so a platform that never converges cannot loop
MAX_ROUNDS = 3


#: slug -> a fresh plan of that account from an actual state (None: no desired at hand)
Replan = Callable[[str, ActualAccount], AccountPlan]
#: (the plan confirmed, the plan made again under the account's lock) -> may the latter run?
Remainder = Callable[[AccountPlan, AccountPlan], bool]


class Shelf(Protocol):
    """Where apply keeps each account's confirmed plan (and note) until it runs it: a list,
    or one on disk (spool.PlanShelf)."""

    def append(self, item: tuple[AccountPlan, str], /) -> None: ...

    def __getitem__(self, i: int, /) -> tuple[AccountPlan, str]: ...


class Applier(StepRunner):
    """Runs plans against providers: locks, confirms each account is still the plan, then
    rounds of steps (:class:`~reconciler.apply_steps.StepRunner`) until it converges."""

    # ------------------------------------------------------------------ a whole plan

    def apply(
        self,
        plan: Plan,
        providers: Callable[[str], Provider],
        *,
        replan: Replan | None = None,
        plan_digest: str = "",
        remainder: Remainder | None = None,
    ) -> ApplyReport:
        """Lock every account that has steps, check each is still the plan, then apply.

        With ``replan`` (the desired state at hand), each account is planned again from
        the state read under its lock and must be the same plan (reconciler/review.py):
        the plan made now is the one run. Without, the state must be the one the plan was
        made from (its fingerprint). Nothing is written when any account is locked by
        another run or is not the plan any more: :class:`LockHeld` / :class:`StalePlan`
        propagate. ``plan_digest``: the saved plan's, journaled with every step, so that
        applying it again says it was applied.

        ``remainder`` (apply of account files, not of a saved plan): the plan made under
        an account's lock runs even when it is not the one confirmed, if ``remainder``
        accepts it and no policy blocks it. The platform changed in between, typically
        because another run applied the account while this one waited for its lock
        (``--lock-timeout``): what is left of the files' changes is applied, usually
        nothing. Without it, such a plan is refused as stale.
        """
        self.recover(a for a in plan.accounts if not a.steps)
        reports: list[AccountReport] = []
        self.apply_each([a for a in plan.accounts if a.steps], providers, reports.append,
                        replan=replan, plan_digest=plan_digest, remainder=remainder)
        return ApplyReport(tuple(reports))

    def apply_each(
        self,
        todo: Sequence[AccountPlan],
        providers: Callable[[str], Provider],
        each: Callable[[AccountReport], None],
        *,
        replan: Replan | None = None,
        plan_digest: str = "",
        confirmed: Shelf | None = None,
        remainder: Remainder | None = None,
    ) -> None:
        """:meth:`apply` of the accounts ``todo`` (each with steps), account by account:
        each account's report goes to ``each`` as it finishes (in plan order) and is not
        kept. ``todo`` is read several times (check, lock, confirm, apply), so it may be
        read back from disk (spool.PlanShelf) instead of held; so may ``confirmed``, where
        the plan to run of every account is kept between confirming all and applying the
        first (a list by default)."""
        self.plan_digest = plan_digest
        scopes: dict[Scope, str] = {}
        for account in todo:
            check_steps(account)
            scope = Scope(account.platform, account.external_id)
            if scope in scopes:
                raise InvalidPlan(
                    f"plan is invalid: accounts {scopes[scope]} and {account.account} are the "
                    f"same platform account ({scope}); apply one of them"
                )
            scopes[scope] = account.account
        runs = confirmed if confirmed is not None else []
        # one question for the whole run, not one per account: only a run that died
        # leaves writes unjournaled, and it did so before this run began
        self._unjournaled = self.store.unjournaled_scopes()
        held: list[LockInfo] = []
        with ExitStack() as stack:
            # one callback for every lock, not one each: apply of many accounts holds
            # them all until it ends, and keeps nothing else per account in memory
            stack.callback(self._release, held)
            # in one global order, so two runs waiting (--lock-timeout) for each other's
            # accounts can never hold one each and wait forever
            for scope in sorted(scopes):
                held.append(self.store.acquire(scope, scopes[scope]))
            parallelism = min(self.settings.parallelism, len(todo))

            def confirm(account: AccountPlan) -> tuple[AccountPlan, str]:
                return self._confirm_plan(account, providers, replan, remainder)

            # every account is read (a few at a time) and confirmed before anything is written
            for run in ordered_map(confirm, todo, parallelism):
                runs.append(run)
            progress = OrderedProgress(self.progress, [account for account in scopes.values()])

            def apply_one(i: int) -> AccountReport:
                run, note = runs[i]
                try:
                    report = self.apply_account(run, providers(run.platform), replan,
                                                progress=progress)
                finally:
                    progress.finish(run.account)
                return replace(report, note=note)

            for report in ordered_map(apply_one, range(len(todo)), parallelism):
                each(report)

    def recover(self, idle: Iterable[AccountPlan]) -> None:
        """Journal what earlier runs wrote to the accounts ``idle`` (nothing to do now) and
        never journaled (:meth:`_recover`; an account with steps is recovered when it is
        applied). Only an account whose lock is free at once: a live holder journals its
        own writes, and a run in progress elsewhere never makes this one wait or fail."""
        unjournaled = self.store.unjournaled_scopes()
        if not unjournaled:
            return
        for account in idle:
            scope = Scope(account.platform, account.external_id)
            if scope not in unjournaled:
                continue
            try:
                lock = self.store.acquire(scope, account.account, timeout=0)
            except LockHeld:
                continue
            try:
                self._recover(account)
            finally:
                self.store.release(lock)

    def _release(self, held: list[LockInfo]) -> None:
        """Release the locks ``held``, the last taken first; each is tried even when one
        fails, and the first failure is raised after."""
        failure: BaseException | None = None
        for lock in reversed(held):
            try:
                self.store.release(lock)
            except BaseException as e:  # noqa: BLE001  (raised below, once all were tried)
                failure = failure or e
        if failure is not None:
            raise failure

    def _confirm_plan(
        self, account: AccountPlan, providers: Callable[[str], Provider], replan: Replan | None,
        remainder: Remainder | None = None,
    ) -> tuple[AccountPlan, str]:
        """The plan to run for ``account`` now (under its lock), and a note for the report;
        raises :class:`StalePlan` when the account is not the plan any more."""
        actual = self.read(providers(account.platform), account.external_id)
        stale = actual.fingerprint() != account.fingerprint
        if replan is None:
            if stale:
                raise StalePlan(
                    "plan is stale: the platform changed since the plan was made "
                    f"(account {account.account}); run reconciler plan again"
                )
            return account, ""
        fresh = replan(account.account, actual)
        if not difference(account, fresh):
            return fresh, ""
        applied = self.store.applied(self.plan_digest, account.account)
        if all(s.mode == "manual" for s in fresh.steps):
            # nothing left to write: the platform is as this plan leaves it
            if applied is not None:
                return fresh, (f"plan already applied (run {applied.run_id} by "
                               f"{applied.actor} at {applied.time}); nothing left to do")
            return fresh, "already as this plan leaves it; nothing left to do"
        if remainder is not None and not fresh.is_blocked and remainder(account, fresh):
            left = sum(1 for s in fresh.steps if s.mode != "manual")
            return fresh, (f"the platform changed since the plan shown (another run applied "
                           f"it?); planned again under its lock: {left} "
                           f"step{'s' if left != 1 else ''} left")
        raise mismatch(account, fresh, stale=stale, applied=applied)

    def apply_account(
        self,
        plan: AccountPlan,
        provider: Provider,
        replan: Replan | None = None,
        *,
        progress: Progress | None = None,
    ) -> AccountReport:
        """Rounds of steps for one account; the caller holds its lock and checked staleness.
        Safe to run for several accounts at once: nothing about the account being applied
        is kept on the Applier.

        A write whose answer an earlier run never got (a crash, retries run out) and that
        this plan no longer needs is settled first: the state moved on, so the same change
        made again later is a new request (docs/steps.md, idempotency keys)."""
        progress = progress or self.progress
        self._recover(plan)
        self.store.settle_all_but(
            Scope(plan.platform, plan.external_id), (step_digest(s) for s in plan.steps)
        )
        results: list[StepResult] = []
        reported_manual: set[tuple[str, str]] = set()
        current: AccountPlan | None = plan
        remaining = 0
        for round_no in range(MAX_ROUNDS):
            if current is None:
                break
            steps = [
                s
                for s in check_steps(current)
                if s.mode != "manual" or (s.action, s.target) not in reported_manual
            ]
            progress.start_account(plan.account, steps)
            done = self._run_steps(current, steps, provider, results, progress)
            progress.end_account(plan.account)
            reported_manual |= {(s.action, s.target) for s in steps if s.mode == "manual"}
            current, remaining = None, 0
            unfinished = any(r.status not in ("done", "manual") for r in results)
            if replan is None or not done or unfinished:
                break
            try:
                fresh = replan(plan.account, self.read(provider, plan.external_id))
            except ReconcilerError as e:
                return AccountReport(
                    plan.account, plan.platform, tuple(results), 0, f"cannot check: {e}"
                )
            left = [
                s
                for s in fresh.steps
                if s.mode != "manual" or (s.action, s.target) not in reported_manual
            ]
            if not left:
                break
            remaining = len(left)
            if fresh.is_blocked or round_no == MAX_ROUNDS - 1:
                log.warning(
                    "account %s: %d steps still needed after apply%s",
                    plan.account,
                    remaining,
                    " (the fresh plan is blocked by policy)" if fresh.is_blocked else "",
                )
                break
            log.info("account %s: %d more steps needed; another round", plan.account, remaining)
            current = fresh
        return AccountReport(plan.account, plan.platform, tuple(results), remaining)
