"""``reconciler history`` and ``unlock``: the state store's journal and locks, read and
broken from the configuration and the store alone. They are small commands: nothing here
imports apply, the planner, the schema validator or the templates (tests/test_cli_lazy.py).
"""

from __future__ import annotations

import json

import click

from reconciler.config import Config, load_config
from reconciler.errors import ExitCode, ReconcilerError
from reconciler.escape import terminal
from reconciler.journal import JournalEntry
from reconciler.lease import LockInfo, NotLocked, Scope

from .options import account_option, config_option, format_option


@click.command("history")
@config_option
@account_option
@format_option("text", "json")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the last N steps.")
def history(config_path: str, account: str | None, fmt: str, limit: int | None) -> int:
    """Writes apply sent and their outcomes: when, which account and step, the result, the
    account file's last git commit (``uncommitted`` when the file differs from it) and who
    ran it. Oldest first; steps that sent nothing are in the apply report only.

    \b
    Examples:
      reconciler history --account northwind
      reconciler history --format json --limit 50
    """
    from reconciler.stores import open_store

    entries: list[JournalEntry] = []
    # a read-only command never creates the SQLite file
    store = open_store(load_config(config_path), create=False)
    if store is not None:
        with store:
            entries = store.history(account, limit)
    if fmt == "json":
        click.echo(json.dumps({"entries": [e.to_json() for e in entries]}, indent=2))
        return int(ExitCode.OK)
    if not entries:
        where = f" for account {account}" if account else ""
        click.echo(f"no applied steps recorded{where}")
    for e in entries:
        commit = (e.git_commit or "-")[:12]
        line = f"{e.time}  {e.account}  {e.step_id} {e.action} {e.target}  {e.result}"
        line += f"  commit {commit}  by {e.actor}"
        note = e.error or e.detail
        # the journal holds the platforms' words and targets: one escaped line per step
        click.echo(terminal(f"{line}  ({note})" if note else line))
    return int(ExitCode.OK)


@click.command("unlock")
@click.argument("slug")
@config_option
@click.option("--force", is_flag=True,
              help="Break the lock even though its holder still runs on this host.")
@format_option("text", "json")
def unlock(slug: str, config_path: str, force: bool, fmt: str) -> int:
    """Break an account's apply lock, left behind by a run that died.

    The lock belongs to the platform account (platform and external id), whatever the
    file's slug: SLUG is the slug the lock was taken under, or the slug of an account file
    naming that platform account. A lock whose holder still runs on this host is refused
    without --force. A holder on another host cannot be checked: make sure that run is
    really gone, since two applies of one account at once can both write.

    It says whose lock it broke: owner, pid, host, since, last heartbeat, lease end, the
    CI run's URL and the commit. --format json prints {"account": SLUG, "unlocked":
    [{"scope", "owner", "pid", "host", "since", "heartbeat", "expires", "run_url",
    "git_commit"}]} (a lock that is not there is still the one-line error, exit 1).

    \b
    Examples:
      reconciler unlock northwind
      reconciler unlock northwind --format json
    """
    from reconciler.stores import open_store

    config = load_config(config_path)
    store = open_store(config, create=False)
    if store is None:
        raise NotLocked(f"account {slug} is not locked")
    with store:
        scopes = {lock.scope for lock in store.holders() if lock.account == slug}
        if not scopes:
            scopes = {_scope_of(slug, config)}
        try:
            held = [store.unlock(scope, force=force) for scope in sorted(scopes)]
        except NotLocked:
            raise NotLocked(f"account {slug} is not locked") from None
    if fmt == "json":
        click.echo(json.dumps({"account": slug, "unlocked": [lock_json(lock) for lock in held]},
                              indent=2))
        return int(ExitCode.OK)
    for lock in held:
        # the holder's words (host, run URL) come from the store: one escaped line
        click.echo(terminal(f"unlocked account {slug} ({lock.scope}; {holder_text(lock)})"))
    return int(ExitCode.OK)


def lock_json(lock: LockInfo) -> dict[str, object]:
    """A lease as ``unlock`` and ``state locks`` print it in JSON."""
    return {"scope": str(lock.scope), "owner": lock.owner, "pid": lock.pid,
            "host": lock.host, "since": lock.since, "heartbeat": lock.heartbeat,
            "expires": lock.expires, "run_url": lock.run_url, "git_commit": lock.git_commit}


def holder_text(lock: LockInfo) -> str:
    """Who held a lease: enough to find that run and make sure it is gone."""
    text = f"held by {lock.owner} pid {lock.pid} on host {lock.host} since {lock.since}"
    if lock.heartbeat:
        text += f", last heartbeat {_second(lock.heartbeat)}"
    if lock.expires:
        text += f", lease until {_second(lock.expires)}"
    if lock.run_url:
        text += f"; run {lock.run_url}"
    if lock.git_commit:
        text += f"; commit {lock.git_commit[:12]}"
    return text


def _second(moment: str) -> str:
    """``2026-11-22T10:01:02.123456Z`` as ``2026-11-22T10:01:02Z``."""
    return moment[:19] + "Z" if len(moment) > 20 else moment


def _scope_of(slug: str, config: Config) -> Scope:
    """The platform account of the account file with this slug."""
    from reconciler.accounts import load_accounts
    from reconciler.project import default_paths

    try:
        (desired,) = load_accounts(default_paths(), config, only=slug)
    except ReconcilerError:
        raise NotLocked(f"account {slug} is not locked") from None
    return Scope(desired.platform, desired.external_id)


COMMANDS: list[click.Command] = [history, unlock]
