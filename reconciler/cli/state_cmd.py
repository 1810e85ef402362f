"""``reconciler state migrate``: bring the state store's schema up to date;
``reconciler state locks``: the leases held now, without breaking any."""

from __future__ import annotations

from typing import Any

import click

from reconciler.errors import ExitCode

from .options import config_option, format_option


@click.group("state")
def state() -> None:
    """The state store (locks and the journal): SQLite by default, or the PostgreSQL
    database that ``state.url`` / RECONCILER_STATE_URL names.

    \b
    Examples:
      reconciler state migrate
      RECONCILER_STATE_URL=postgresql://reconciler@db/reconciler reconciler state migrate
      reconciler state locks
    """


@state.command("migrate")
@config_option
def migrate(config_path: str) -> int:
    """Apply the state store's pending schema migrations (every command also does this on
    first use). Safe to run from several machines at once: one migrates, the others wait.

    \b
    Example:
      reconciler state migrate
    """
    from reconciler.config import load_config
    from reconciler.stores import open_store

    store = open_store(load_config(config_path))
    assert store is not None
    with store:
        # opening already migrates; ask again so the report says where it stands
        before = store.opened_at_version
        _, after = store.migrate()
        where = store.describe()
    if before == after:
        click.echo(f"state store {where}: schema at version {after}, nothing to migrate")
    else:
        click.echo(f"state store {where}: schema migrated from version {before} to {after}")
    return int(ExitCode.OK)


@state.command("locks")
@config_option
@format_option("text", "json")
def locks(config_path: str, fmt: str) -> int:
    """List the apply locks (leases) held now, by every runner sharing the state store,
    without breaking any: the account, the platform account, who holds it (owner, pid,
    host, since, last heartbeat, lease end, CI run URL, commit). A lease past its end is
    free for the next apply to take; ``reconciler unlock SLUG`` breaks one at once.

    --format json prints {"locks": [{"account", "scope", "owner", "pid", "host", "since",
    "heartbeat", "expires", "run_url", "git_commit"}]} (schemas/locks.schema.json).

    \b
    Examples:
      reconciler state locks
      reconciler state locks --format json
    """
    import json

    from reconciler.config import load_config
    from reconciler.escape import terminal
    from reconciler.stores import open_store

    from .history_cmd import holder_text, lock_json

    store = open_store(load_config(config_path), create=False)
    held = [] if store is None else _held(store)
    if fmt == "json":
        click.echo(json.dumps({"locks": [{"account": lock.account, **lock_json(lock)}
                                         for lock in held]}, indent=2))
    elif not held:
        click.echo("No locks held.")
    else:
        for lock in held:
            # the holder's words (host, run URL) come from the store: one escaped line
            click.echo(terminal(f"{lock.account} ({lock.scope}): {holder_text(lock)}"))
    return int(ExitCode.OK)


def _held(store: Any) -> list[Any]:
    with store:
        return sorted(store.holders(), key=lambda lock: (lock.scope, lock.account))


COMMANDS: list[click.Command] = [state]
