"""``plan`` and ``show``: make a plan (or read a saved one) and print it.

Plans and reports go to stdout, everything else (where a plan was saved) to stderr. Exit
codes: a blocking verdict exits 1 *after* the plan is printed, so a reviewer sees why.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import click

from reconciler.cli.options import (
    account_option,
    config_option,
    format_option,
    mask_option,
    parallelism_option,
    paths_argument,
)
from reconciler.cli.options import (
    text_color_option as color_option,
)
from reconciler.cli.output import echo_rendered, use_color
from reconciler.errors import ExitCode
from reconciler.escape import terminal
from reconciler.plan import AccountPlan, Plan
from reconciler.planio import load_plan, save_plan
from reconciler.render import FORMATS, render
from reconciler.render.stream import STREAMED, writer

DEFAULT_PATHS = ("accounts",)

def build_plan(
    paths: Sequence[str],
    config_path: str,
    *,
    allow_downgrade: bool = False,
    force: bool = False,
    account: str | None = None,
    parallelism: int = 8,
) -> Plan:
    """Read the files and the platforms and make the plan (the one core call of ``plan``)."""
    from reconciler.config import load_config
    from reconciler.planner import PlanOptions, make_plan

    config = load_config(config_path)
    options = PlanOptions(allow_downgrade=allow_downgrade, force=force)
    from reconciler.project import default_paths

    paths = list(paths) or default_paths()  # before any platform (or sandbox) is opened
    plan: Plan = make_plan(paths, config, options, account=account,
                           parallelism=parallelism)
    return plan


def stream_plan(
    paths: Sequence[str],
    config_path: str,
    each: Callable[[AccountPlan], None],
    *,
    allow_downgrade: bool = False,
    force: bool = False,
    account: str | None = None,
    parallelism: int = 8,
    fingerprints: bool = True,
) -> Plan:
    """:func:`build_plan` account by account: each account's plan goes to ``each`` as it is
    made (in the files' order) and is not kept; returns the Plan without its accounts (its
    options and time), once every account is planned without an error.
    ``fingerprints=False``: nothing is saved, so the live states are not fingerprinted."""
    from reconciler.config import load_config
    from reconciler.planner import PlanOptions, run_using
    from reconciler.project import default_paths
    from reconciler.session import Session

    config = load_config(config_path)
    options = PlanOptions(allow_downgrade=allow_downgrade, force=force)
    paths = list(paths) or default_paths()  # before any platform (or sandbox) is opened
    with Session(config, options, parallelism=parallelism,
                 fingerprints=fingerprints) as session:
        for acct in session.plans(paths, account=account):
            each(acct)
        return Plan(accounts=(), options=session.plan_options(), using=run_using(session))


base_ref_option = click.option(
    "--base-ref",
    "base_ref",
    default=None,
    metavar="REF",
    help="The branch the plan is made against (e.g. origin/main): the plan records its "
    "commit, and a rendered plan says when REF has moved since.",
)


def with_base(plan: Plan, base_ref: str | None) -> Plan:
    """``plan`` recording the commit ``base_ref`` names now (a one-line error if none)."""
    from dataclasses import replace

    from reconciler.changed import resolve_ref

    if base_ref is None:
        return plan
    return replace(plan, base={"ref": base_ref, "commit": resolve_ref(base_ref)})


def base_now(plan: Plan, base_ref: str | None) -> str | None:
    """The commit the plan's base ref names now, or None when that cannot be known here."""
    from reconciler.changed import GitError, resolve_ref

    ref = base_ref or (plan.base or {}).get("ref")
    if not plan.base or not ref:
        return None
    try:
        return resolve_ref(ref)
    except GitError:
        if base_ref:
            raise
        return None


def _print_plan(
    plan: Plan, fmt: str, color: bool | None, mask_emails: bool, now: str | None = None
) -> None:
    colored = use_color(color) and fmt == "text"
    echo_rendered(lambda fh: render(plan, fmt, fh, color=colored, mask_emails=mask_emails,
                                    base_now=now), colored)


#: ``plan -o FILE``: the format each suffix names
OUT_FORMATS = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".html": "html",
               ".htm": "html", ".txt": "text"}


def out_format(out: str, fmt: str, fmt_given: bool) -> str:
    """The format ``-o out`` writes; a usage error for an unknown suffix or one that
    contradicts an explicit ``--format`` (a saved .json plan goes with any --format)."""
    suffix = os.path.splitext(out)[1].lower()
    wanted = OUT_FORMATS.get(suffix)
    if wanted is None and os.path.exists(out) and not os.path.isfile(out):
        return "json"  # a device, a pipe: the file writer refuses it in its own words
    if wanted is None:
        raise click.UsageError(
            f"-o {terminal(out)}: name the file .json (the saved plan), .md, .html or .txt")
    if fmt_given and wanted not in ("json", fmt):
        raise click.UsageError(
            f"-o {terminal(out)} writes {wanted} but --format is {fmt}; name the file "
            f"{os.path.splitext(out)[0]}{_SUFFIX[fmt]} or drop --format")
    return wanted


_SUFFIX = {"json": ".json", "markdown": ".md", "html": ".html", "text": ".txt"}


def write_rendered(plan: Plan, fmt: str, out: str, *, mask_emails: bool) -> None:
    """``plan`` rendered as ``fmt`` into the file ``out`` (reconciler.outfile: atomic,
    regular files only)."""
    from reconciler.outfile import write_file

    write_file(out, lambda fh: render(plan, fmt, fh, mask_emails=mask_emails))


def plan_exit_code(plan: Plan, *, detailed: bool = False) -> ExitCode:
    """1 when any verdict blocks; with ``detailed``, 2 when there are changes, else 0."""
    if plan.is_blocked:
        return ExitCode.ERROR
    if detailed and plan.has_changes:
        return ExitCode.CHANGES
    return ExitCode.OK


@click.command("plan")
@paths_argument
@config_option
@format_option(*FORMATS)
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(path_type=str),  # checked where it is written (reconciler.outfile)
    default=None,
    help="Also write the plan to FILE, in the format its suffix names: .json the saved plan "
    "(for show and apply, whatever --format prints), .md markdown, .html, .txt text.",
)
@account_option
@click.option("--allow-downgrade", is_flag=True, help="Allow downgrades in every account.")
@click.option("--force", is_flag=True, help="Allow deleting, replacing or downgrading over 30%.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there are no changes, 2 when there are (1 stays error or blocked).",
)
@mask_option
@color_option
@base_ref_option
@parallelism_option
def plan_command(
    paths: tuple[str, ...],
    config_path: str,
    fmt: str,
    out: str | None,
    account: str | None,
    allow_downgrade: bool,
    force: bool,
    detailed_exitcode: bool,
    mask_emails: bool,
    color: bool | None,
    base_ref: str | None,
    parallelism: int,
) -> ExitCode:
    """Read the accounts' live state, diff it against the files and print the change plan.

    PATHS are account files or directories (default: accounts/). Exits 1 when a policy
    verdict blocks the plan; the plan is printed first, verdicts at the top.

    \b
    Examples:
      reconciler plan
      reconciler plan accounts/vertical-demo.yaml --allow-downgrade
      reconciler plan --format markdown --mask-emails -o plans/plan.json > plans/plan.md
      reconciler plan -o plans/plan.html        # the self-contained page, for a browser
      reconciler plan --account northwind --detailed-exitcode
      reconciler plan --format markdown --base-ref origin/main   # in CI on a pull request
    """
    given = click.get_current_context().get_parameter_source("fmt")
    written = out_format(out, fmt, given is click.core.ParameterSource.COMMANDLINE) \
        if out else None
    if fmt in STREAMED and written in (None, *STREAMED):
        # rendered account by account as each is planned: memory stays flat (render.stream)
        return _stream_plan(
            paths, config_path, fmt=fmt, out=out, written=written, account=account,
            allow_downgrade=allow_downgrade, force=force, detailed_exitcode=detailed_exitcode,
            mask_emails=mask_emails, color=color, base_ref=base_ref, parallelism=parallelism)
    plan = with_base(build_plan(
        paths, config_path, allow_downgrade=allow_downgrade, force=force, account=account,
        parallelism=parallelism,
    ), base_ref)
    if out and written == "json":
        save_plan(plan, out)
    elif out and written:
        write_rendered(plan, written, out, mask_emails=mask_emails)
    _print_plan(plan, fmt, color, mask_emails)
    if out:
        what = "the plan" if written == "json" else f"the {written} plan"
        click.echo(f"saved {what} to {terminal(out)}", err=True)
    return plan_exit_code(plan, detailed=detailed_exitcode)


def _stream_plan(
    paths: Sequence[str], config_path: str, *, fmt: str, out: str | None,
    written: str | None, account: str | None, allow_downgrade: bool, force: bool,
    detailed_exitcode: bool, mask_emails: bool, color: bool | None, base_ref: str | None,
    parallelism: int,
) -> ExitCode:
    """``plan`` in a format rendered account by account (render.stream.STREAMED): the same
    output as the whole plan rendered, with only running totals kept in memory. Nothing is
    printed or written until every account is planned without an error."""
    colored = use_color(color) and fmt == "text"
    shown = writer(fmt, color=colored, mask_emails=mask_emails)
    # -o FILE: the saved plan (.json) is never masked, a rendered one as shown
    saved = writer(written, mask_emails=mask_emails and written != "json") if written else None

    def each(acct: AccountPlan) -> None:
        shown.add(acct)
        if saved is not None:
            saved.add(acct)

    plan = with_base(stream_plan(
        paths, config_path, each, allow_downgrade=allow_downgrade, force=force,
        account=account, parallelism=parallelism,
        # only a saved plan (json) carries the live states' fingerprints
        fingerprints="json" in (fmt, written)), base_ref)
    if out and saved is not None:
        from reconciler.outfile import write_file

        write_file(out, lambda fh: saved.finish(plan, fh))
    echo_rendered(lambda fh: shown.finish(plan, fh), colored)
    if out:
        what = "the plan" if written == "json" else f"the {written} plan"
        click.echo(f"saved {what} to {terminal(out)}", err=True)
    totals = shown.totals
    if totals.blocked:
        return ExitCode.ERROR
    if detailed_exitcode and totals.has_changes:
        return ExitCode.CHANGES
    return ExitCode.OK


@click.command("show")
@click.argument("planfile", type=click.Path(path_type=str))
@format_option(*FORMATS)
@account_option
@mask_option
@color_option
@base_ref_option
@config_option
@click.option(
    "--verify",
    is_flag=True,
    help="Make the plan again from the files it was made from and the live state, and "
    "refuse (exit 1, with the difference) unless it comes out the same. Writes nothing.",
)
def show_command(
    planfile: str, fmt: str, account: str | None, mask_emails: bool, color: bool | None,
    base_ref: str | None, config_path: str, verify: bool,
) -> ExitCode:
    """Print a saved plan (from plan -o) in any format; no platform is read.

    A plan file whose content does not match its own digest is refused as modified. With
    --verify the plan is also made again from its files and the live state (read only)
    and refused unless it is the same plan: its steps, costs and verdicts are then
    proven, not taken from the file. Exits 1 when the plan is blocked, like plan. A plan
    made with --base-ref says when that branch has moved since (checked in the current
    repository; --base-ref REF names the branch to compare with when it is called
    differently here).

    \b
    Examples:
      reconciler show plans/plan.json
      reconciler show plans/plan.json --format html > plans/plan.html
      reconciler show plans/plan.json --format markdown --mask-emails
      reconciler show plans/reviewed.json --verify --format markdown   # in CI, on merge
    """
    plan = load_plan(planfile)
    if account is not None:
        plan = plan.only(account)
    if verify:
        from reconciler.cli.apply_cmd import verify_saved
        from reconciler.config import load_config
        verify_saved(plan, load_config(config_path))
    _print_plan(plan, fmt, color, mask_emails, base_now(plan, base_ref))
    return plan_exit_code(plan)


COMMANDS: list[click.Command] = [plan_command, show_command]
