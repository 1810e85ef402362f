"""reconciler.yaml: where state lives, which provider serves each platform, the price book
and policy defaults. Everything is optional; with no file every platform is the sandbox.

Secrets never live here: a provider names the *environment variable* holding its token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.model import Mark

DEFAULT_CONFIG = "reconciler.yaml"
DEFAULT_SANDBOX = ".reconciler/sandbox.db"
DEFAULT_STATE = ".reconciler/state.db"
DEFAULT_PRICEBOOK = "pricebook.yaml"


@dataclass(frozen=True)
class ProviderConfig:
    kind: str = "sandbox"
    #: everything else under providers.<platform> (role, approval, token_env, ...)
    options: Mapping[str, Any] = field(default_factory=dict)
    #: the two limits every provider kind gets (reconciler/session.py wraps the provider):
    #: calls to the platform in flight at once, whatever --parallelism (None: no limit)
    max_concurrency: int | None = None
    #: calls to the platform per second, retries included (None: no limit)
    rate_limit: float | None = None


@dataclass(frozen=True)
class Config:
    root: Path = Path(".")
    sandbox_path: Path = Path(DEFAULT_SANDBOX)
    state_path: Path = Path(DEFAULT_STATE)
    #: a shared PostgreSQL state store (RECONCILER_STATE_URL overrides it)
    state_url: str | None = None
    #: the environment variable holding that database's password
    state_password_env: str | None = None
    pricebook_path: Path | None = None
    #: the sandbox's own price list (``sandbox.prices``): what the simulated platforms
    #: bill; None: the catalog's sample list prices (never the partner's price book)
    sandbox_prices: Path | None = None
    #: where reconciler.yaml names the price book, so a missing one is reported there
    pricebook_mark: Mark | None = None
    providers: Mapping[str, ProviderConfig] = field(default_factory=dict)
    #: policy defaults for every account (an account's own policy wins)
    policy: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None

    def provider(self, platform: str) -> ProviderConfig:
        return self.providers.get(platform, ProviderConfig())

    def role(self, platform: str) -> str:
        """The role of ``platform``'s provider credential (``Platform.roles``): the
        platform's role variable (RECONCILER_MITEL_ROLE), else the variable named by
        ``role_env``, else ``role``, else the platform's default. Raises
        :class:`~reconciler.errors.ConfigError` for a role the platform does not have:
        found now, a typo would surface only later as a puzzling permission error."""
        from reconciler.catalog import did_you_mean
        from reconciler.envvars import env_value
        from reconciler.errors import ConfigError
        from reconciler.platforms import get

        known = get(platform)
        opts = self.provider(platform).options
        role_env = str(opts["role_env"]) if "role_env" in opts else None
        from_env = (env_value(known.role_env) if known.role_env else None) or (
            env_value(role_env) if role_env else None)
        if from_env is not None:
            # a variable may hold anything, a token too: name it, never quote its value
            if from_env.reveal() not in known.roles:
                raise ConfigError(
                    f"{from_env.name}: this environment variable does not hold a "
                    f"{known.role_noun}; expected one of: {', '.join(known.roles)} "
                    "(its value is not shown)")
            return from_env.reveal()
        role = str(opts.get("role", known.default_role or ""))
        if role not in known.roles:
            roles = known.roles
            hint = did_you_mean(role, roles) or f"; expected one of: {', '.join(roles)}"
            # the config file's own role is checked by the schema
            raise ConfigError(f'providers.{platform}.role: unknown {known.role_noun} '
                              f'"{role}"{hint}')
        return role


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """reconciler.yaml -> Config, checked against ``schemas/config.schema.json``.

    ``path`` None (or the default name) and no such file: every default. A file named
    explicitly must exist. Relative paths inside the file are relative to the file's
    directory (absolute in the result unless that is the current directory). Raises
    :class:`~reconciler.errors.ValidationFailed` listing every error at ``file:line:col``.
    """
    from decimal import Decimal

    from reconciler.errors import ConfigError, ValidationFailed

    name = os.fspath(path) if path is not None else DEFAULT_CONFIG
    file = Path(name)
    if not file.exists():
        if path is None or name == DEFAULT_CONFIG:
            return Config()
        raise ValidationFailed([ConfigError("configuration file not found", file=name)])
    # the loader and the schema only when there is a file (a small command without one
    # never loads them)
    from reconciler.schema import load_document

    doc = load_document(file, "config", display_name=name)
    base = file.parent

    def resolve(value: str) -> Path:
        p = Path(value)
        if p.is_absolute() or base == Path("."):
            return p
        return base.resolve() / p

    policy: dict[str, Any] = dict(doc.get("policy") or {})
    if policy.get("max_monthly_increase") is not None:
        policy["max_monthly_increase"] = Decimal(str(policy["max_monthly_increase"]))
    providers = {
        platform: ProviderConfig(
            kind=str(options.get("kind", "sandbox")),
            options={k: v for k, v in options.items() if k != "kind"},
            max_concurrency=options.get("max_concurrency"),
            rate_limit=float(options["rate_limit"]) if "rate_limit" in options else None,
        )
        for platform, options in (doc.get("providers") or {}).items()
    }
    sandbox = doc.get("sandbox") or {}
    state = doc.get("state") or {}
    if "url" in state:
        _check_state_url(state, name)
    return Config(
        root=base,
        sandbox_path=resolve(sandbox.get("path", DEFAULT_SANDBOX)),
        state_path=resolve(state.get("path", DEFAULT_STATE)),
        state_url=state.get("url"),
        state_password_env=state.get("password_env"),
        pricebook_path=resolve(doc["pricebook"]) if "pricebook" in doc else None,
        sandbox_prices=resolve(sandbox["prices"]) if "prices" in sandbox else None,
        pricebook_mark=doc.value_marks.get("pricebook"),
        providers=providers,
        policy=policy,
        source=name,
    )


def _check_state_url(state: Any, name: str) -> None:
    """reconciler.yaml lives in git: a password in the URL would be a secret in the repo,
    and a store named twice (path and url) would leave the reader guessing."""
    from urllib.parse import parse_qs, urlsplit

    from reconciler.errors import ConfigError, ValidationFailed

    mark = state.value_marks.get("url")
    if "path" in state:
        raise ValidationFailed([ConfigError(
            "state: give either path (SQLite) or url (PostgreSQL), not both",
            mark=state.key_marks.get("path"), file=name,
        )])
    try:
        parts = urlsplit(str(state["url"]))
        has_password = parts.password is not None or "password" in parse_qs(parts.query)
    except ValueError:
        has_password = False
    if has_password:
        raise ValidationFailed([ConfigError(
            "state.url must not contain a password: put it in an environment variable "
            "and name that variable in state.password_env",
            mark=mark, file=name,
        )])
    from reconciler.state import StateError
    from reconciler.stores.pgurl import parse_state_url

    try:  # malformed: said here, at its line, rather than when the store is opened
        parse_state_url(str(state["url"]), "state.url")
    except StateError as e:
        raise ValidationFailed([ConfigError(str(e), mark=mark, file=name)]) from None
