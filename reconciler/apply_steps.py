"""One round of an account's steps: each performed through ``Provider.perform`` in
dependency order, under an idempotency key recorded before the write, transient failures
retried with backoff, a change order polled until the platform approves it, and every
write journaled (and the writes of a run that died before journaling them, recovered).
:class:`reconciler.apply.Applier` runs the rounds, the locks and the checks around it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from reconciler.errors import PlatformError, ReconcilerError
from reconciler.model import ActualAccount
from reconciler.plan import AccountPlan, Step
from reconciler.progress import (
    FAILED,
    WAITING,
    Progress,
    StepResult,
)
from reconciler.provider import Provider, StepOutcome
from reconciler.retry import Clock, RetriesExhausted, RetryPolicy, Sleep, call_with_retry
from reconciler.runinfo import RunInfo, file_commit
from reconciler.state import JournalEntry, Scope, StateStore
from reconciler.steps import new_key, step_digest


@dataclass(frozen=True)
class ApplySettings:
    #: how long to poll for each change order's approval before reporting it pending
    wait_seconds: float = 30.0
    poll_interval: float = 1.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: accounts read and applied at once (``--parallelism``); the report keeps plan order
    parallelism: int = 1


class StepRunner:
    """Performs an account's steps against its provider and journals each write;
    collaborators injected so tests never really sleep."""

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
        #: the platform accounts with writes never journaled, as found when a run of
        #: Applier.apply_each began (None: ask the store for each account)
        self._unjournaled: set[Scope] | None = None

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
        scope = Scope(plan.platform, plan.external_id)
        if self._unjournaled is not None and scope not in self._unjournaled:
            return
        for intent in self.store.unjournaled(scope):
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
