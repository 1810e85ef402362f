"""Which state store a run uses: PostgreSQL when ``RECONCILER_STATE_URL`` or
``state.url`` in reconciler.yaml names one, else the embedded SQLite file."""

from __future__ import annotations

from pathlib import Path

from reconciler.config import Config
from reconciler.envvars import env_value
from reconciler.errors import ConfigError
from reconciler.state import StateStore

#: a PostgreSQL URL that overrides reconciler.yaml (may carry the password: it is a secret)
STATE_URL_ENV = "RECONCILER_STATE_URL"


def state_url(config: Config) -> str | None:
    url = env_value(STATE_URL_ENV)  # a secret: used, never printed
    return url.reveal() if url is not None else config.state_url


def _url_source(config: Config) -> str:
    """Where the URL came from, for the one line a malformed one gets."""
    if env_value(STATE_URL_ENV) is not None:
        return STATE_URL_ENV
    return f"state.url in {config.source}" if config.source else "state.url"


def sqlite_path(config: Config) -> Path:
    path = config.state_path
    return path if path.is_absolute() else config.root / path


def open_store(
    config: Config, *, lock_timeout: float = 0.0, create: bool = True
) -> StateStore | None:
    """The configured store, migrated to the current schema on first use. With
    ``create=False`` a SQLite file that does not exist yet is not made (None): a
    read-only command leaves no file behind."""
    url = state_url(config)
    if url:
        from reconciler.stores.pgurl import parse_state_url
        from reconciler.stores.postgres import PostgresStateStore

        source = _url_source(config)
        # a URL of RECONCILER_STATE_URL that carries its password needs no password_env
        has_own = parse_state_url(url, source).password is not None
        return PostgresStateStore(url, password=None if has_own else _password(config),
                                  lock_timeout=lock_timeout, source=source)
    from reconciler.stores.sqlite import SqliteStateStore

    path = sqlite_path(config)
    if not create and not path.exists():
        return None
    return SqliteStateStore(path, lock_timeout=lock_timeout)


def _password(config: Config) -> str | None:
    """The password from the variable ``state.password_env`` names (libpq also reads
    PGPASSWORD and ~/.pgpass by itself when none is named)."""
    name = config.state_password_env
    if not name:
        return None
    value = env_value(name)
    if value is None:
        raise ConfigError(
            f"state.password_env names the environment variable {name}, which is not set",
            file=config.source,
        )
    return value.reveal()
