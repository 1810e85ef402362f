"""``reconciler apply`` (``history`` and ``unlock``, which read and break what apply leaves
in the state store, are in history_cmd.py: they start without loading apply)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from reconciler.apply import Applier, ApplySettings
from reconciler.apply_stream import ReportWriter, Stake
from reconciler.catalog import did_you_mean
from reconciler.cli.output import echo_rendered
from reconciler.config import Config
from reconciler.envvars import env_flag
from reconciler.errors import ExitCode, InputError, ReconcilerError
from reconciler.model import ActualAccount, DesiredAccount
from reconciler.plan import AccountPlan, Plan
from reconciler.pool import DEFAULT_PARALLELISM, ordered_map
from reconciler.progress import make_progress
from reconciler.project import default_paths
from reconciler.review import check_identity, check_sources, difference, mismatch
from reconciler.spool import PlanShelf, Shelved
from reconciler.state import Scope

if TYPE_CHECKING:
    from reconciler.session import Session

from .options import (
    account_option,
    color_option,
    config_option,
    format_option,
    lock_timeout_option,
    parallelism_option,
)

log = logging.getLogger(__name__)

DEFAULT_PATHS = ("accounts",)


class NotConfirmed(ReconcilerError):
    """Apply refused to write without a person's (or --auto-approve's) consent."""


def use_color_on(out: TextIO, color: bool | None) -> bool:
    """``--color/--no-color`` if given; else colour only on a terminal without NO_COLOR."""
    if color is not None:
        return color
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty()) and not env_flag("NO_COLOR")


def stdin_is_tty() -> bool:
    """Whether a person can answer the confirmation prompt (tests patch this)."""
    return sys.stdin.isatty()


def _config(config_path: str) -> Config:
    from reconciler.config import load_config

    return load_config(config_path)


def _saved_session(saved: Plan, config: Config, parallelism: int) -> Session:
    """A session that plans the accounts of a saved plan again: from the files it was made
    from (refused when they changed since) and with the options it was made with."""
    from reconciler.planner import PlanOptions
    from reconciler.session import Session

    for acct in saved.accounts:
        check_sources(acct, config)
    session = Session(config, PlanOptions(**(saved.options or {})), parallelism=parallelism)
    try:
        session.load([a.path for a in saved.accounts])
        for acct in saved.accounts:
            check_identity(acct, session.desired.get(acct.account))
    except BaseException:
        session.close()
        raise
    return session


def _is_plan_file(target: Sequence[str]) -> bool:
    """PLANFILE, optionally followed by the account files to apply of it."""
    return bool(target) and target[0].endswith(".json") and Path(target[0]).is_file()


@click.command("apply")
@click.argument("target", nargs=-1, type=click.Path(path_type=str), metavar="[PLANFILE | PATHS]...")
@config_option
@account_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option("--allow-downgrade", is_flag=True, help="Allow downgrades (when planning).")
@click.option("--force", is_flag=True, help="Allow a destructive share over the limit.")
@click.option(
    "--wait-seconds",
    type=click.FloatRange(min=0),
    default=ApplySettings().wait_seconds,
    show_default=True,
    help="How long to wait for each change order's approval before reporting it pending.",
)
@lock_timeout_option
@color_option
@parallelism_option
@format_option("text", "json")
def apply(
    target: tuple[str, ...],
    config_path: str,
    account: str | None,
    auto_approve: bool,
    allow_downgrade: bool,
    force: bool,
    wait_seconds: float,
    lock_timeout: float,
    color: bool | None,
    parallelism: int,
    fmt: str,
) -> int:
    """Apply a saved plan (PLANFILE), or plan PATHS, confirm and apply.

    A saved plan is never taken on trust: it is made again from the files it was made from
    and the live state, and applied only if it is the same plan (steps, money, verdicts);
    otherwise apply prints the difference and writes nothing. Each account is
    locked while it is applied (--lock-timeout: wait for another run holding it) and
    planned again under its lock: with PATHS, what is left of the files' changes once
    another run applied the account is applied (with --auto-approve, or when it was all
    in the plan confirmed); a saved plan the platform moved away from is refused as stale.
    A run cut short is safe to run again: it continues from the platform's state.
    Exit 0 converged, 1 a failure, 3 waiting on an order's approval or a manual (Service
    Desk) step. --format json prints only the apply report on stdout
    (schemas/apply.schema.json); the plan, the question and progress go to stderr.

    \b
    Examples:
      reconciler plan -o plans/plan.json && reconciler apply plans/plan.json
      reconciler apply plans/reviewed.json accounts/northwind.yaml   # only that account
      reconciler apply accounts/ --auto-approve
      reconciler apply --account vertical-demo --wait-seconds 300
      reconciler apply accounts/ --auto-approve --lock-timeout 10m
      NO_COLOR=1 reconciler apply accounts/northwind-mitel.yaml
      reconciler apply plans/plan.json --format json > apply-report.json
    """
    # the planner, the session and the templates are loaded only when apply runs:
    # ``apply --help`` stays a small command
    from reconciler.planner import PlanOptions
    from reconciler.portal.apply import write_runbooks
    from reconciler.session import Session

    config = _config(config_path)
    out = sys.stderr if fmt == "json" else sys.stdout
    use_color = use_color_on(out, color)
    saved: Plan | None = None
    digest = ""
    if _is_plan_file(target):
        if allow_downgrade or force:
            raise click.UsageError(
                "--allow-downgrade and --force are planning options; plan again with them"
            )
        saved, digest = _load_saved(target[0], account, target[1:])
        # never on trust: the plan is made again from the files it was made from (checked
        # here) and the live state (under each account's lock), and must come out the same
        session = _saved_session(saved, config, parallelism)
    else:
        target = tuple(target) or tuple(default_paths())  # before any state is opened
        options = PlanOptions(allow_downgrade=allow_downgrade, force=force)
        session = Session(config, options, parallelism=parallelism)
    from reconciler.stores import open_store

    settings = ApplySettings(wait_seconds=wait_seconds, parallelism=parallelism)
    try:
        store = open_store(config, lock_timeout=lock_timeout)
    except BaseException:
        session.close()
        raise
    assert store is not None
    with session, store, ExitStack() as stack:
        applier = Applier(store, make_progress(out, color=use_color), settings=settings)
        results = ReportWriter(fmt)
        stack.callback(results.close)
        # accounts with nothing to do whose earlier writes were never journaled (a run
        # stopped in between) are visited too (Applier.recover)
        unjournaled, idle = store.unjournaled_scopes(), list[AccountPlan]()
        if saved is None:
            todo, portal, stake, planned = _plan_paths(session, list(target), account, out,
                                                       use_color, stack, (unjournaled, idle))
            if stake.has_changes and not auto_approve and not _confirmed(stake, fmt == "json"):
                click.echo("nothing applied", err=True)
                return int(ExitCode.ERROR)
            click.echo("", out)
            _, runbooks = write_runbooks(Plan(tuple(portal)), session.providers)
            # the plans to run, confirmed under the locks, wait on disk too
            confirmed = PlanShelf()
            stack.callback(confirmed.close)
        else:
            Stake.of(saved.accounts).refuse_blocked()
            # kind: portal accounts get a runbook instead (reconciler/portal/apply.py); a
            # saved plan's portal accounts are planned again from the exports, must be the same
            rest, runbooks = write_runbooks(saved, session.providers, verify=_verifier(session))
            todo = [a for a in rest.accounts if a.steps]
            idle = [a for a in rest.accounts
                    if not a.steps and Scope(a.platform, a.external_id) in unjournaled]
            planned, confirmed = len(rest.accounts), None
        # files, not a saved plan: an account the platform changed under us (another run
        # applied it while we waited for its lock) gets what is left of its changes, if
        # --auto-approve consented to converge, or if the person confirmed all of it
        remainder = None if saved is not None else _all_remainder if auto_approve else _within
        applier.recover(idle)
        if todo:
            applier.apply_each(todo, session.providers, results.add, replan=session.replan,
                               plan_digest=digest, confirmed=confirmed, remainder=remainder)
        code = results.exit_code if planned else ExitCode.OK
        code = ExitCode.WAITING if runbooks and code == ExitCode.OK else code
        if fmt == "json":
            books = [(b.account, [str(p) for p in b.paths]) for b in runbooks]
            echo_rendered(lambda fh: results.finish(fh, int(code), books), False, sys.stdout)
            return int(code)
        if planned:
            echo_rendered(lambda fh: results.finish(fh, int(code)), False, out)
    for book in runbooks:
        click.echo(f"{book.account}: nothing applied; a person follows the runbook, then "
                   "downloads the exports again:", out)
        for path in book.paths:
            click.echo(f"  {path}", out)
    return int(code)


def _all_remainder(shown: AccountPlan, fresh: AccountPlan) -> bool:
    return True


def _within(shown: AccountPlan, fresh: AccountPlan) -> bool:
    """Every write the plan made now sends was in the plan the person confirmed."""
    from reconciler.steps import step_digest

    confirmed = {step_digest(s) for s in shown.steps if s.mode != "manual"}
    return all(step_digest(s) in confirmed for s in fresh.steps if s.mode != "manual")


def _plan_paths(
    session: Session, paths: list[str], account: str | None, out: TextIO, color: bool,
    stack: ExitStack, recover: tuple[set[Scope], list[AccountPlan]] | None = None,
) -> tuple[Sequence[AccountPlan], list[AccountPlan], Stake, int]:
    """Plan the accounts of ``paths`` one by one and show the plan (refused when a verdict
    blocks it). Returns the plans of the accounts to apply (put aside on disk, as are the
    desired states they are planned again from: spool.PlanShelf, spool.Shelved), the
    portal accounts' plans (for their runbooks), what is at stake, and how many accounts
    the apply report is of (all but the portal ones). ``recover``: (the platform accounts
    with writes never journaled, where to add those of them with nothing to do)."""
    from reconciler.portal.provider import PortalProvider
    from reconciler.render.stream import TextWriter

    shown = TextWriter(color=color)
    stake = Stake()
    shelf = PlanShelf()
    stack.callback(shelf.close)
    portal: list[AccountPlan] = []
    planned = 0
    # apply plans each account again from its desired state: kept on disk, not in memory
    desired: Shelved[DesiredAccount] = Shelved()
    stack.callback(desired.close)
    session.desired = desired
    for acct in session.plans(paths, account=account, keep_desired=True):
        shown.add(acct)
        stake.add(acct)
        if isinstance(session.providers(acct.platform), PortalProvider):
            portal.append(acct)
        else:
            planned += 1
            if acct.steps:
                shelf.append((acct, ""))
            elif recover and Scope(acct.platform, acct.external_id) in recover[0]:
                recover[1].append(acct)
    echo_rendered(lambda fh: shown.finish(Plan((), options=session.plan_options()), fh), color,
                  out)
    stake.refuse_blocked()
    return shelf.plans(), portal, stake, planned


def _verifier(session: Session) -> Callable[[AccountPlan, ActualAccount], None]:
    def verify(acct: AccountPlan, actual: ActualAccount) -> None:
        fresh = session.replan(acct.account, actual)
        if difference(acct, fresh):
            raise mismatch(acct, fresh, stale=actual.fingerprint() != acct.fingerprint)

    return verify


def verify_saved(saved: Plan, config: Config) -> None:
    """Raise :class:`PlanMismatch` unless every account of ``saved`` is the plan made now
    from its files and the live state (``show --verify``: nothing is locked or written)."""
    with _saved_session(saved, config, DEFAULT_PARALLELISM) as session:

        def check(acct: AccountPlan) -> None:
            actual = session.read(acct.platform, acct.external_id)
            fresh = session.replan(acct.account, actual)
            if difference(acct, fresh):
                raise mismatch(acct, fresh, stale=actual.fingerprint() != acct.fingerprint)

        for _ in ordered_map(check, saved.accounts, session.parallelism):
            pass


def _load_saved(
    path: str, account: str | None, files: Sequence[str] = ()
) -> tuple[Plan, str]:
    """The saved plan (only ``account``, or only the accounts of ``files``, when given)
    and its digest. An account file the plan does not hold is refused: on merge, CI
    applies only what was reviewed (docs/ci.md)."""
    from dataclasses import replace

    from reconciler.planio import load_plan, plan_digest

    plan = load_plan(path)
    digest = plan_digest(plan)
    if files:
        by_path = {os.path.normpath(a.path): a for a in plan.accounts}
        missing = [f for f in files if os.path.normpath(f) not in by_path]
        if missing:
            raise InputError(
                f"{', '.join(missing)}: not in this plan, so never reviewed; plan it (a pull "
                "request) before applying it",
                file=path,
            )
        wanted = {os.path.normpath(f) for f in files}
        plan = replace(plan, accounts=tuple(
            a for a in plan.accounts if os.path.normpath(a.path) in wanted))
    if account is not None:
        plan = plan.only(account)
        if not plan.accounts:
            hint = did_you_mean(account, [a.account for a in load_plan(path).accounts])
            raise InputError(f'no account "{account}" in this plan{hint}', file=path)
    return plan, digest


def confirmation(plan: Plan) -> str | None:
    """The question apply asks before writing: what is at stake, in numbers. None when no
    step would be performed (manual steps are never performed, so they are not counted)."""
    return Stake.of(plan.accounts).question()


def _confirmed(stake: Stake, err: bool = False) -> bool:
    question = stake.question()
    if question is None:
        return True  # nothing would be written: only manual steps to report
    if not stdin_is_tty():
        raise NotConfirmed(
            "refusing to apply without confirmation: no terminal to ask on; "
            "pass --auto-approve or apply a reviewed saved plan"
        )
    answer = click.prompt(question, default="", show_default=False, prompt_suffix=" ",
                          err=err)
    return bool(answer.strip() == "yes")


COMMANDS: list[click.Command] = [apply]
