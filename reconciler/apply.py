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
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Protocol

from reconciler.errors import LockHeld, PlatformError, ReconcilerError, StalePlan
from reconciler.model import ActualAccount
from reconciler.plan import AccountPlan, Plan, Step
from reconciler.pool import OrderedProgress, ordered_map
from reconciler.progress import (
    FAILED,
    WAITING,
    AccountReport,
    ApplyReport,
    Progress,
    StepResult,
)
from reconciler.provider import Provider, StepOutcome
from reconciler.retry import Clock, RetriesExhausted, RetryPolicy, Sleep, call_with_retry
from reconciler.review import difference, mismatch
from reconciler.runinfo import RunInfo, file_commit
from reconciler.state import JournalEntry, Scope, StateStore
from reconciler.steps import InvalidPlan, check_steps, new_key, step_digest

log = logging.getLogger(__name__)

#: a fresh plan after a pass may still have work (a platform that changed under us, a
#: planner that needs two passes); bounded so a platform that never converges cannot loop
MAX_ROUNDS = 3


@dataclass(frozen=True)
class ApplySettings:
    #: how long to poll for each change order's approval before reporting it pending
    wait_seconds: float = 30.0
    poll_interval: float = 1.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: accounts read and applied at once (``--parallelism``); the report keeps plan order
    parallelism: int = 1


#: slug -> a fresh plan of that account from an actual state (None: no desired at hand)
Replan = Callable[[str, ActualAccount], AccountPlan]
#: (the plan confirmed, the plan made again under the account's lock) -> may the latter run?
Remainder = Callable[[AccountPlan, AccountPlan], bool]


class Shelf(Protocol):
    """Where apply keeps each account's confirmed plan (and note) until it runs it: a list,
    or one on disk (spool.PlanShelf)."""

    def append(self, item: tuple[AccountPlan, str], /) -> None: ...

    def __getitem__(self, i: int, /) -> tuple[AccountPlan, str]: ...


class Applier:
    """Runs plans against providers; collaborators injected so tests never really sleep."""

    def __init__(
        self,
        store: StateStore,
        progress: Progress,
        *,
        settings: ApplySettings | None = None,
        run: RunInfo | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.progress = progress
        self.settings = settings or ApplySettings()
        self.run = run or RunInfo.new()
        # looked up now rather than bound at import, so a test can patch time.sleep
        self.sleep = sleep or time.sleep
        self.clock = clock or time.monotonic
        self.rng = rng or random.Random()
        #: the digest of the saved plan being applied (journaled with each step)
        self.plan_digest = ""
        self._commits: dict[str, str | None] = {}
        self._commits_lock = threading.Lock()

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
        with ExitStack() as stack:
            # in one global order, so two runs waiting (--lock-timeout) for each other's
            # accounts can never hold one each and wait forever
            for scope in sorted(scopes):
                lock = self.store.acquire(scope, scopes[scope])
                stack.callback(self.store.release, lock)
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

    # ------------------------------------------------------------------ one round

    def _run_steps(
        self,
        plan: AccountPlan,
        steps: list[Step],
        provider: Provider,
        results: list[StepResult],
        progress: Progress,
    ) -> int:
        """Perform ``steps`` (already in dependency order); returns how many were done.

        A change order the platform has not approved yet is not waited for in line: its
        confirm (and whatever depends on it) is put aside until every independent step has
        run, then polled up to ``wait_seconds``."""
        by_id: dict[str, StepResult] = {}
        done = 0

        def record(result: StepResult) -> None:
            nonlocal done
            by_id[result.step.id] = result
            results.append(result)
            done += result.status == "done"
            self._journal(plan, result)
            progress.step(plan.account, result)

        later: list[Step] = []
        held: set[str] = set()
        for step in steps:
            if held.intersection(step.depends_on):
                later.append(step)
                held.add(step.id)
                continue
            result = self._blocked_by(step, by_id) or self._run_one(
                plan, step, provider, by_id, progress, wait=False
            )
            if result.status == "pending" and step.action == "confirm_order":
                later.append(step)
                held.add(step.id)
                continue
            record(result)
        for step in later:
            record(
                self._blocked_by(step, by_id)
                or self._run_one(plan, step, provider, by_id, progress)
            )
        return done

    def _blocked_by(self, step: Step, by_id: Mapping[str, StepResult]) -> StepResult | None:
        deps = [by_id[d] for d in step.depends_on if d in by_id]
        for dep in deps:
            if dep.status in FAILED:
                return StepResult(
                    step, "skipped", f"waits on {dep.step.id} ({dep.status})", dep.step.id
                )
        for dep in deps:
            if dep.status in WAITING:
                return StepResult(
                    step, "waiting", f"waits on {dep.step.id} ({dep.status})", dep.step.id
                )
        return None

    def _run_one(
        self,
        plan: AccountPlan,
        step: Step,
        provider: Provider,
        by_id: Mapping[str, StepResult],
        progress: Progress,
        *,
        wait: bool = True,
    ) -> StepResult:
        if step.mode == "manual":
            request = str(step.params.get("request", "")) or "a person must make this change"
            return StepResult(step, "manual", request)
        if step.action == "confirm_order":
            order_id = step.params.get("order_id") or next(
                (by_id[d].order_id for d in step.depends_on if d in by_id and by_id[d].order_id),
                None,
            )
            if not order_id:
                return StepResult(step, "failed", "no change order to confirm")
            step = replace(step, params={**step.params, "order_id": str(order_id)})
            waiting = self._await_approval(plan, step, provider, str(order_id), progress,
                                           wait=wait)
            if waiting is not None:
                return waiting
        return self._perform(plan, step, provider)

    def _perform(self, plan: AccountPlan, step: Step, provider: Provider) -> StepResult:
        # recorded before the write: a retry (here, or a later run) of a write whose answer
        # was lost reuses it; once the platform answered, the same change is a new key
        scope = Scope(plan.platform, plan.external_id)
        self.store.check(scope)  # still ours: a reclaimed lease means another run writes
        about = self._entry(plan, step, "")
        key = self.store.intent_key(scope, step_digest(step), new_key(), self.run.run_id,
                                    about=about)
        try:
            outcome: StepOutcome = call_with_retry(
                lambda: provider.perform(plan.external_id, step, key),
                self.settings.retry,
                sleep=self.sleep,
                clock=self.clock,
                rng=self.rng,
            )
        except RetriesExhausted as e:
            # the write may or may not have happened: the key stays open for a resume
            return StepResult(step, "failed-transient", str(e), idempotency_key=key)
        except PlatformError as e:
            self.store.settle(key)  # refused: the platform answered
            return StepResult(step, "failed", e.message, idempotency_key=key)
        except ReconcilerError as e:
            self.store.settle(key)
            return StepResult(step, "failed", str(e), idempotency_key=key)
        self.store.settle(key)
        if outcome.status == "manual":
            return StepResult(step, "manual", outcome.detail, idempotency_key=key)
        detail = outcome.detail
        if outcome.status == "pending" and outcome.order_id:
            # the order exists now; its confirm step waits for the platform's approval
            detail = detail or f"order {outcome.order_id} submitted"
        return StepResult(step, "done", detail, order_id=outcome.order_id, idempotency_key=key)

    def _await_approval(
        self, plan: AccountPlan, step: Step, provider: Provider, order_id: str,
        progress: Progress, *, wait: bool = True,
    ) -> StepResult | None:
        """None once the order is approved (confirm it now); otherwise the step's result.
        ``wait=False``: look once, without polling."""
        deadline = self.clock() + (self.settings.wait_seconds if wait else 0)
        while True:
            try:
                actual = self.read(provider, plan.external_id)
            except RetriesExhausted as e:
                return StepResult(step, "failed-transient", str(e), order_id=order_id)
            except ReconcilerError as e:
                return StepResult(step, "failed", str(e), order_id=order_id)
            order = next((o for o in actual.orders if o.order_id == order_id), None)
            if order is None:
                return StepResult(
                    step, "failed", f"order {order_id} is not on the platform", order_id=order_id
                )
            if order.state == "approved":
                return None
            if order.state == "confirmed":
                return StepResult(
                    step, "done", f"order {order_id} already confirmed", order_id=order_id
                )
            if order.state == "rejected":
                return StepResult(
                    step,
                    "failed",
                    f"order {order_id} was rejected by the platform",
                    order_id=order_id,
                )
            left = deadline - self.clock()
            if left <= 0:
                return StepResult(
                    step,
                    "pending",
                    f"order {order_id} ({order.delta:+d} {order.licence}) is {order.state}, "
                    "waiting on the platform's approval",
                    order_id=order_id,
                )
            limit = self.settings.wait_seconds
            progress.waiting(plan.account, order_id, limit - left, limit)
            self.sleep(min(self.settings.poll_interval, left))

    # ------------------------------------------------------------------ helpers

    def read(self, provider: Provider, external_id: str) -> ActualAccount:
        """The account's actual state, transient failures retried."""
        return call_with_retry(
            lambda: provider.read_account(external_id),
            self.settings.retry,
            sleep=self.sleep,
            clock=self.clock,
            rng=self.rng,
        )

    def _journal(self, plan: AccountPlan, result: StepResult) -> None:
        """Journal a write sent to the platform and its outcome. A step that sent none
        (skipped, waiting, manual, an order still unapproved when polling stopped) is in
        the report, not in history."""
        if not result.idempotency_key:
            return
        failed = result.status in FAILED
        self.store.record(replace(
            self._entry(plan, result.step, result.status),
            time=self.store.now(),
            error=result.message if failed else "",
            detail=result.message if not failed else "",
            idempotency_key=result.idempotency_key,
        ))

    def _entry(self, plan: AccountPlan, step: Step, status: str) -> JournalEntry:
        """The journal line of ``step`` by this run, less its time and outcome."""
        with self._commits_lock:
            if plan.path not in self._commits:
                self._commits[plan.path] = file_commit(plan.path) if plan.path else None
            commit = self._commits[plan.path]
        return JournalEntry(time="", account=plan.account, step_id=step.id,
                            action=step.action, target=step.target, result=status,
                            git_commit=commit, actor=self.run.actor, run_id=self.run.run_id,
                            plan=self.plan_digest)

    def _recover(self, plan: AccountPlan) -> None:
        """Journal the writes an earlier run sent but never journaled (it stopped between
        a write and its journal line), so that ``history`` shows every write once: done
        when the plan made now no longer needs the step, not done when it still does. An
        unanswered write the plan still needs is not journaled here: it is sent again
        under its key below and journaled then."""
        needed = {step_digest(s) for s in plan.steps if s.mode != "manual"}
        for intent in self.store.unjournaled(Scope(plan.platform, plan.external_id)):
            if not intent.settled and intent.step in needed:
                continue
            done = intent.step not in needed
            why = (f"at recovery by run {self.run.run_id}: run {intent.about.run_id} "
                   "stopped before journaling the platform's answer")
            self.store.record(replace(
                intent.about,
                time=self.store.now(),
                account=intent.about.account or plan.account,
                result="done" if done else "failed",
                detail=f"found done {why}" if done else "",
                error="" if done else f"found not done {why}",
            ))
