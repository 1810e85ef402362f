"""What apply reports: the result of each step and of each account, the progress shown
while it runs and the report printed when it ends.

On a terminal: a progress bar per account (click.progressbar), problems printed as they
happen. Anywhere else (CI, a pipe, a log file): one plain line per step, so a log reads as
a transcript. The final report is the same in both. Everything goes to the given stream
(stdout); logs go to stderr through ``logging``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TextIO

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
        return "converged" if self.results else "no changes"


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
    def start_account(self, account: str, steps: int) -> None: ...

    def step(self, account: str, result: StepResult) -> None: ...

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

    def start_account(self, account: str, steps: int) -> None:
        if steps:
            click.echo(f"{account}: applying {steps} step{'s' if steps != 1 else ''}", self.out)

    def step(self, account: str, result: StepResult) -> None:
        click.echo(step_line(account, result), self.out)
        self.out.flush()

    def end_account(self, account: str) -> None:
        pass


class BarProgress:
    """A bar per account on a terminal; only problems get a line of their own."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._bar: Any = None

    def start_account(self, account: str, steps: int) -> None:
        if steps:
            self._bar = click.progressbar(
                length=steps, label=account, file=self.out, show_pos=True, width=30
            )
            self._bar.__enter__()

    def step(self, account: str, result: StepResult) -> None:
        if self._bar is not None:
            self._bar.update(1)
        if result.status != "done" and result.status != "manual":
            click.echo("", self.out)
            click.echo(step_line(account, result), self.out)

    def end_account(self, account: str) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def make_progress(out: TextIO, tty: bool | None = None) -> Progress:
    """A bar on a terminal, plain lines otherwise (``tty`` overrides the detection)."""
    if tty is None:
        isatty = getattr(out, "isatty", None)
        tty = bool(isatty and isatty())
    return BarProgress(out) if tty else PlainProgress(out)


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
        lines.extend(_account_lines(account))
    code = int(report.exit_code)
    meaning = {0: "converged", 1: "failed", 3: "waiting on approval or a manual step"}[code]
    lines.append(f"Result: {meaning} (exit {code})")
    return lines


def _account_lines(account: AccountReport) -> list[str]:
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
    return lines
