"""Apply of many accounts without holding them: what is at stake (the confirmation's
numbers), added to as each account is planned, and the apply report, written as each
account finishes. Only running totals are kept; the report's accounts wait in a spool
(reconciler.spool) until the last one says how the run ended.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO

from reconciler.errors import ExitCode, ReconcilerError
from reconciler.money import ZERO, fmt, signed
from reconciler.plan import AccountPlan
from reconciler.progress import AccountReport, account_lines
from reconciler.spool import add_entry, copy, splice_entries, spool


class PlanBlocked(ReconcilerError):
    pass


class Stake:
    """What applying the accounts added so far would do: the question apply asks before
    writing, and the first blocking verdict, which refuses the whole plan."""

    def __init__(self) -> None:
        self.steps = 0  # performed ones: manual steps are never performed
        self.accounts = 0
        self.has_changes = False
        self.monthly: dict[str, Decimal] = {}
        self.once: dict[str, Decimal] = {}
        self.blocked: PlanBlocked | None = None

    @classmethod
    def of(cls, accounts: Iterable[AccountPlan]) -> Stake:
        stake = cls()
        for acct in accounts:
            stake.add(acct)
        return stake

    def add(self, acct: AccountPlan) -> None:
        applied = sum(1 for s in acct.steps if s.mode != "manual")
        self.steps += applied
        self.accounts += bool(applied)
        self.has_changes = self.has_changes or acct.has_changes
        c = acct.cost.currency
        self.monthly[c] = self.monthly.get(c, ZERO) + acct.cost.monthly_delta
        self.once[c] = self.once.get(c, ZERO) + acct.cost.one_time
        verdict = next((v for v in acct.blocked if v.blocking), None)
        if self.blocked is None and verdict is not None:
            self.blocked = PlanBlocked(
                f"plan is blocked by policy (account {acct.account}: {verdict.message}); "
                "nothing applied")

    def refuse_blocked(self) -> None:
        if self.blocked is not None:
            raise self.blocked

    def question(self) -> str | None:
        """The question apply asks before writing: what is at stake, in numbers. None when
        no step would be performed."""
        if not self.steps:
            return None
        money = ", ".join(f"{signed(self.monthly[c])} {c}" for c in sorted(self.monthly))
        one_time = ", ".join(f"{fmt(self.once[c])} {c}" for c in sorted(self.once))
        return (f"Apply {self.steps} step{'s' if self.steps != 1 else ''} to {self.accounts} "
                f"account{'s' if self.accounts != 1 else ''}, monthly {money}, one-time "
                f"{one_time}? Only 'yes' is accepted:")


#: the step statuses the JSON report's summary counts
STATUSES = ("done", "pending", "waiting", "manual", "failed", "failed-transient", "skipped")


class ReportWriter:
    """The apply report (``text``: report_lines' words; ``json``:
    schemas/apply.schema.json), each account's part written as it finishes (:meth:`add`),
    the whole printed by :meth:`finish`: byte for byte what it is of the whole report."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.body = spool()
        self.accounts = 0
        self.codes: set[ExitCode] = set()
        self.summary = dict.fromkeys(STATUSES, 0)

    def add(self, report: AccountReport) -> None:
        from reconciler.apply_json import account_json

        self.codes.add(report.exit_code)
        if self.fmt == "json":
            data = account_json(report)
            for step in data["steps"]:
                if step["status"] in self.summary:
                    self.summary[step["status"]] += 1
            add_entry(self.body, json.dumps(data, indent=2), first=not self.accounts)
        else:
            for line in account_lines(report):
                self.body.write(line + "\n")
        self.accounts += 1

    @property
    def exit_code(self) -> ExitCode:
        """As ApplyReport.exit_code says of the accounts added."""
        if ExitCode.ERROR in self.codes:
            return ExitCode.ERROR
        return ExitCode.WAITING if ExitCode.WAITING in self.codes else ExitCode.OK

    def finish(self, out: IO[str], code: int,
               runbooks: Sequence[tuple[str, Sequence[str]]] = ()) -> None:
        """The report; ``code``: the run's exit code (json); ``runbooks``: the portal
        accounts' (json; the text lists them after)."""
        if self.fmt == "json":
            text = json.dumps({
                "format_version": 1, "exit_code": code, "accounts": [],
                "summary": self.summary,
                "runbooks": [{"account": a, "paths": list(p)} for a, p in runbooks],
            }, indent=2)
            splice_entries(text, self.body, bool(self.accounts), out)
            return
        out.write("\nApply report:\n")
        if not self.accounts:
            out.write("  no changes: nothing to apply\n")
        copy(self.body, out)
        meaning = {0: "converged", 1: "failed", 3: "waiting on approval or a manual step"}
        out.write(f"Result: {meaning[int(self.exit_code)]} (exit {int(self.exit_code)})\n")

    def close(self) -> None:
        self.body.close()
