"""``reconciler state migrate``: bring the state store's schema up to date."""

from __future__ import annotations

import click

from reconciler.errors import ExitCode

from .options import config_option


@click.group("state")
def state() -> None:
    """The state store (locks and the journal): SQLite by default, or the PostgreSQL
    database that ``state.url`` / RECONCILER_STATE_URL names.

    \b
    Examples:
      reconciler state migrate
      RECONCILER_STATE_URL=postgresql://reconciler@db/reconciler reconciler state migrate
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


COMMANDS: list[click.Command] = [state]
