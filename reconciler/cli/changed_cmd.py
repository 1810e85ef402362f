"""``reconciler changed``: the accounts a git change touches, for CI to plan or apply."""

from __future__ import annotations

import json
import os

import click

from reconciler.changed import (
    GITHUB_MAX_JOBS,
    ChangedAccount,
    all_accounts,
    changed_accounts,
    count_users,
    matrix,
    shards,
)
from reconciler.cli.options import config_option, format_option, paths_argument
from reconciler.config import DEFAULT_PRICEBOOK, load_config
from reconciler.errors import ExitCode, ReconcilerError


@click.command()
@click.option("--base", "base", metavar="REF", default=None,
              help="Compare with this git ref (branch, tag or commit).")
@click.option("--all", "every", is_flag=True,
              help="List every account instead (no git needed): e.g. a nightly drift job.")
@click.option(
    "--max-jobs", type=click.IntRange(1, GITHUB_MAX_JOBS), default=None, metavar="N",
    help="With --format json: group the accounts into at most N jobs (GitHub allows 256), "
    "balanced by number of users; each job names its files.",
)
@click.option(
    "--plan", "reviewed", metavar="PLAN.json", default=None,
    help="Only the accounts this saved plan holds (the plan reviewed on the pull request); "
    "each changed account it does not hold is named in a warning and left out.",
)
@paths_argument
@config_option
@format_option("text", "json", "files")
def changed(
    base: str | None, every: bool, max_jobs: int | None, reviewed: str | None,
    paths: tuple[str, ...], config_path: str, fmt: str,
) -> ExitCode:
    """List the accounts whose files changed since REF.

    Compares the merge base of REF and HEAD with the working tree (uncommitted and
    untracked files count; in CI the tree is clean, so this is REF...HEAD). A change to the
    configuration or the price book lists every account. A deleted account file is
    reported but never planned: nothing changes on its platform.

    \b
    Formats:
      text   account, file and why, one per line (deleted files too)
      json   a GitHub Actions matrix: {"include": [{"account": ..., "file": ...}]};
             with --max-jobs N at most N jobs: {"include": [{"job": 1, "name": ...,
             "accounts": "a b", "files": "accounts/a.yaml\\naccounts/b.yaml", "users": 57}]}
      files  the account files to plan, one per line (none: nothing to plan;
             plan without PATHS would plan every account)

    \b
    Examples:
      reconciler changed --base origin/main
      reconciler changed --base origin/main --format files
      reconciler changed --base "$BEFORE" --format json   # strategy.matrix: fromJSON(...)
      reconciler changed --all --format json --max-jobs 256
      reconciler changed --base "$LAST" --format json --max-jobs 256 --plan reviewed.json
    """
    if every == (base is not None):
        raise click.UsageError("give either --base REF or --all")
    if max_jobs is not None and fmt != "json":
        raise click.UsageError("--max-jobs groups a GitHub matrix: use it with --format json")
    roots = paths or ("accounts",)
    if base is None:
        found = all_accounts(roots)
    else:
        found = changed_accounts(base, roots, shared_files=(config_path, _pricebook(config_path)))
    if reviewed is not None:
        found = _in_plan(found, reviewed, base)
    if fmt == "json":
        grid = shards(found, max_jobs, count_users) if max_jobs is not None else matrix(found)
        text = json.dumps(grid, separators=(",", ":"))
        click.echo(text)
        _warn_past_github_limits(len(grid["include"]), len(text.encode()), max_jobs)
    elif fmt == "files":
        for c in found:
            if not c.deleted:
                click.echo(c.file)
    else:
        _print_table(found)
    if not found and base is not None:
        click.echo(f"no account changed since {base}", err=True)
    return ExitCode.OK


#: GitHub Actions: a job output (the matrix passed to the next job) holds at most 1 MB
GITHUB_MAX_OUTPUT = 1_000_000


def _warn_past_github_limits(jobs: int, size: int, max_jobs: int | None) -> None:
    """The matrix is printed anyway (it may be read by something else than GitHub), but a
    workflow would fail on it later with a message far from the cause: say it here."""
    if max_jobs is None and jobs > GITHUB_MAX_JOBS:
        click.echo(f"warning: {jobs} jobs: a GitHub Actions matrix runs at most "
                   f"{GITHUB_MAX_JOBS}; group the accounts with --max-jobs {GITHUB_MAX_JOBS}",
                   err=True)
    if size > GITHUB_MAX_OUTPUT:
        click.echo(f"warning: the matrix is {size:,} bytes: a GitHub Actions job output "
                   f"holds at most {GITHUB_MAX_OUTPUT:,}; split the fleet over several account "
                   "folders, each with its own workflow (reconciler changed --base REF FOLDER)",
                   err=True)


def _in_plan(
    found: list[ChangedAccount], path: str, base: str | None
) -> list[ChangedAccount]:
    """The accounts the saved plan holds. apply refuses a file the reviewed plan does not
    hold (never reviewed), so a job given one would fail, and fail again in every later
    run; such an account is named once here instead (docs/ci.md)."""
    from reconciler.planio import load_plan

    held = {os.path.normpath(a.path) for a in load_plan(path).accounts}
    kept = []
    for c in found:
        if c.deleted or os.path.normpath(c.file) in held:
            kept.append(c)
            continue
        since = f" since {base}" if base is not None else ""
        click.echo(f"warning: {c.file} ({c.account}) changed{since} but is not in the "
                   f"reviewed plan {path}: not applied; plan it in a pull request", err=True)
    return kept


def _pricebook(config_path: str) -> str:
    try:
        named = load_config(config_path).pricebook_path
    except ReconcilerError:
        # a broken configuration: if it changed, every account is listed anyway and the
        # plan that follows reports what is wrong with it
        named = None
    if named is None:  # the default: next to the configuration file
        return os.path.join(os.path.dirname(config_path), DEFAULT_PRICEBOOK)
    return str(named)


def _print_table(found: list[ChangedAccount]) -> None:
    width_account = max((len(c.account) for c in found), default=0)
    width_file = max((len(c.file) for c in found), default=0)
    for c in found:
        reason = c.reason
        if c.deleted:
            reason += ": no longer managed, nothing changes on its platform"
        click.echo(f"{c.account:<{width_account}}  {c.file:<{width_file}}  {reason}")


COMMANDS: list[click.Command] = [changed]
