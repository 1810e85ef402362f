"""reconciler.yaml: where state lives, which provider serves each platform, the price book
and policy defaults. Everything is optional; with no file every platform is the sandbox.

Secrets never live here: a provider names the *environment variable* holding its token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = "reconciler.yaml"
DEFAULT_SANDBOX = ".reconciler/sandbox.db"
DEFAULT_STATE = ".reconciler/state.db"
DEFAULT_PRICEBOOK = "pricebook.yaml"
#: environment variable overriding the Mitel credential's role (sandbox)
ROLE_ENV = "RECONCILER_MITEL_ROLE"


@dataclass(frozen=True)
class ProviderConfig:
    kind: str = "sandbox"
    #: everything else under providers.<platform> (role, approval, token_env, ...)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    root: Path = Path(".")
    sandbox_path: Path = Path(DEFAULT_SANDBOX)
    state_path: Path = Path(DEFAULT_STATE)
    pricebook_path: Path | None = None
    providers: Mapping[str, ProviderConfig] = field(default_factory=dict)
    #: policy defaults for every account (an account's own policy wins)
    policy: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None

    def provider(self, platform: str) -> ProviderConfig:
        return self.providers.get(platform, ProviderConfig())

    def mitel_role(self) -> str:
        env = os.environ.get(ROLE_ENV)
        if env:
            return env
        opts = self.provider("mitel-connect").options
        if "role_env" in opts and os.environ.get(str(opts["role_env"])):
            return os.environ[str(opts["role_env"])]
        return str(opts.get("role", "decision-maker"))
