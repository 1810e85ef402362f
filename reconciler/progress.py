"""What apply reports: the result of each step and of each account, the progress shown
while it runs and the report printed when it ends.

On a terminal: a bar per account that counts only the steps done (pending, waiting and
manual steps are counted beside it as such, and a step that is not done gets a line of its
own), redrawn in place, saying what apply waits for while it polls an approval. Anywhere
else (CI, a pipe, a log file): one plain line per step, so a log reads as a transcript.
The final report is the same in both. Everything goes to the given stream (stdout); logs
go to stderr through ``logging``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TextIO

import click

from reconciler.errors import ExitCode
from reconciler.escape import terminal
from reconciler.plan import Step

#: step results that make the run fail (exit 1) and skip the steps depending on them
FAILED = ("failed", "failed-transient", "skipped")
#: step results that leave work for a later run (exit 3): an order waiting on approval,
#: a manual step, and the steps waiting on either
WAITING = ("pending", "waiting", "manual")


@dataclass(frozen=True)
class StepResult:
    step: Step
    #: done | pending | waiting | manual | failed | failed-transient | skipped
    status: str
    message: str = ""
    #: the step this one waited on (skipped / waiting)
    waited_on: str | None = None
    order_id: str | None = None
    idempotency_key: str = ""


@dataclass(frozen=True)
class AccountReport:
    account: str
    platform: str
    results: tuple[StepResult, ...] = ()
    #: steps a fresh plan still shows after the last round (0 = converged)
    remaining: int = 0
    #: the account could not be checked after its steps (read failed)
    error: str = ""
    #: said of the account besides its steps ("plan already applied ...")
    note: str = ""

    def count(self, *statuses: str) -> int:
        return sum(1 for r in self.results if r.status in statuses)

    @property
    def exit_code(self) -> ExitCode:
        if self.count(*FAILED) or self.remaining or self.error:
            return ExitCode.ERROR
        if self.count(*WAITING):
            return ExitCode.WAITING
        return ExitCode.OK

    @property
    def state(self) -> str:
        code = self.exit_code
        if code is ExitCode.ERROR:
            return "failed" if self.count(*FAILED) else "not converged"
        if code is ExitCode.WAITING:
            if self.count("pending"):
                return "waiting on approval"
            return "manual step" if self.count("manual") else "waiting"
        if not self.results:
            return "already applied" if self.note else "no changes"
        return "converged"


@dataclass(frozen=True)
class ApplyReport:
    accounts: tuple[AccountReport, ...]

    @property
    def exit_code(self) -> ExitCode:
        codes = {a.exit_code for a in self.accounts}
        if ExitCode.ERROR in codes:
            return ExitCode.ERROR
        return ExitCode.WAITING if ExitCode.WAITING in codes else ExitCode.OK

    @property
    def done(self) -> int:
        return sum(a.count("done") for a in self.accounts)


class Progress(Protocol):
    def start_account(self, account: str, steps: Sequence[Step]) -> None: ...

    def step(self, account: str, result: StepResult) -> None: ...

    def waiting(self, account: str, order_id: str, waited: float, limit: float) -> None:
        """Apply is polling ``order_id`` for the platform's approval (``waited`` of
        ``limit`` seconds so far)."""

    def end_account(self, account: str) -> None: ...


def describe(step: Step) -> str:
    """``s3 change_profile user 297`` / ``s1 order_licences Premium iPECS ONE USER``."""
    target = f"user {step.user}" if step.user is not None else terminal(str(step.licence))
    word = f" ({terminal(step.label)})" if step.label else ""
    return f"{step.id} {step.action}{word} {target}"


def step_line(account: str, result: StepResult) -> str:
    text = f"{terminal(account)}: {describe(result.step)}: {result.status}"
    if result.message and result.status != "manual":
        text += f": {terminal(result.message)}"  # the platform's words, on this one line
    return text


class PlainProgress:
    """One line per step, flushed at once (CI logs stream)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

        #: the order last said to be waited for (one line per order, not per poll)
        self._waiting: str | None = None

    def start_account(self, account: str, steps: Sequence[Step]) -> None:
        if steps:
            n = len(steps)
            click.echo(f"{account}: applying {n} step{'s' if n != 1 else ''}", self.out)

    def step(self, account: str, result: StepResult) -> None:
        click.echo(step_line(account, result), self.out)
        self.out.flush()

    def waiting(self, account: str, order_id: str, waited: float, limit: float) -> None:
        if self._waiting != order_id:
            self._waiting = order_id
            click.echo(f"{account}: waiting for order {order_id} to be approved "
                       f"(up to {limit:.0f} s)", self.out)
            self.out.flush()

    def end_account(self, account: str) -> None:
        pass


#: how a step's status is coloured on a terminal
_COLOURS = {"done": "green", "pending": "yellow", "waiting": "yellow", "manual": "cyan",
            "failed": "red", "failed-transient": "red", "skipped": "red"}
_BESIDE = ("pending", "waiting", "manual", "failed", "failed-transient", "skipped")
BAR_WIDTH = 24


class BarProgress:
    """A bar per account on a terminal, redrawn in place. It counts only the steps done,
    out of the steps apply performs (a manual step is never performed); pending, waiting,
    manual and failed steps are counted beside it and each gets a line of its own."""

    def __init__(self, out: TextIO, color: bool = False) -> None:
        self.out = out
        self.color = color
        self.account = ""
        self.total = 0
        self.counts: Counter[str] = Counter()
        self.note = ""

    def _paint(self, text: str, status: str) -> str:
        return click.style(text, fg=_COLOURS.get(status)) if self.color else text

    def _draw(self) -> None:
        done = self.counts["done"]
        filled = BAR_WIDTH * done // self.total if self.total else 0
        bar = (self._paint("#" * filled, "done") if filled else "") + "-" * (BAR_WIDTH - filled)
        parts = [f"{done}/{self.total} done"]
        parts += [self._paint(f"{self.counts[s]} {s}", s) for s in _BESIDE if self.counts[s]]
        line = f"\r{self.account} [{bar}] {', '.join(parts)}"
        if self.note:
            line += f" - {self.note}"
        # \x1b[K clears what a longer earlier line left on the right
        self.out.write(line + "\x1b[K")
        self.out.flush()

    def _above(self, text: str) -> None:
        """A line of its own above the bar, which is drawn again below it."""
        self.out.write("\r\x1b[K" + text + "\n")
        self._draw()

    def start_account(self, account: str, steps: Sequence[Step]) -> None:
        self.account, self.counts, self.note = account, Counter(), ""
        self.total = sum(1 for s in steps if s.mode != "manual")
        if steps:
            self._draw()

    def step(self, account: str, result: StepResult) -> None:
        self.counts[result.status] += 1
        self.note = ""
        if result.status == "manual":
            self._above(self._paint(f"{account}: {describe(result.step)}: manual, not "
                                    "applied (the Service Desk request is in the report)",
                                    "manual"))
        elif result.status != "done":
            self._above(self._paint(step_line(account, result), result.status))
        else:
            self._draw()

    def waiting(self, account: str, order_id: str, waited: float, limit: float) -> None:
        self.note = f"waiting for order {order_id} to be approved, {waited:.0f} s of {limit:.0f}"
        self._draw()

    def end_account(self, account: str) -> None:
        if self.total or sum(self.counts.values()):
            self.note = ""
            self._draw()
            self.out.write("\n")
            self.out.flush()


def make_progress(out: TextIO, tty: bool | None = None, color: bool = False) -> Progress:
    """A bar on a terminal, plain lines otherwise (``tty`` overrides the detection)."""
    if tty is None:
        isatty = getattr(out, "isatty", None)
        tty = bool(isatty and isatty())
    return BarProgress(out, color) if tty else PlainProgress(out)


# ------------------------------------------------------------------ final report

_ORDER = ("failed", "failed-transient", "skipped", "pending", "waiting", "manual")


def report_lines(report: ApplyReport) -> list[str]:
    """The summary printed after every apply: per account its state and counts, then each
    step that is not done, with the platform's message or the step it waited on, and the
    Service Desk request of every manual step."""
    lines = ["", "Apply report:"]
    if not report.accounts:
        lines.append("  no changes: nothing to apply")
    for account in report.accounts:
        lines.extend(account_lines(account))
    code = int(report.exit_code)
    meaning = {0: "converged", 1: "failed", 3: "waiting on approval or a manual step"}[code]
    lines.append(f"Result: {meaning} (exit {code})")
    return lines


def account_lines(account: AccountReport) -> list[str]:
    counts = [
        f"{account.count(status)} {status}" for status in ("done", *_ORDER) if account.count(status)
    ]
    head = f"  {terminal(account.account)} ({account.platform}): {account.state}"
    if counts:
        head += " - " + ", ".join(counts)
    lines = [head]
    for status in _ORDER:
        for r in account.results:
            if r.status != status:
                continue
            if status == "manual":
                lines.append(f"    manual   {describe(r.step)}: Service Desk request:")
                lines.extend(f"             {terminal(text)}" for text in r.message.splitlines())
            else:
                lines.append(f"    {status:<8} {describe(r.step)}: {terminal(r.message)}")
    if account.remaining:
        lines.append(
            f"    a fresh plan still shows {account.remaining} step(s); run reconciler plan"
        )
    if account.error:
        lines.append(f"    {terminal(account.error)}")
    if account.note:
        lines.append(f"    {terminal(account.note)}")
    return lines
