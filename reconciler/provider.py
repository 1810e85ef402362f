"""The one small interface every platform connection implements.

A provider reads an account's actual state and performs one step at a time. The embedded
sandbox implements it for all three platforms; a real platform plugs in behind the same
interface and is one entry of :data:`PROVIDER_KINDS`. No core module imports a provider's
package: a kind's factory is imported when a configuration first asks for that kind.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.model import ActualAccount
from reconciler.plan import Step

if TYPE_CHECKING:
    from reconciler.config import Config


@dataclass(frozen=True)
class StepOutcome:
    #: done: the platform is changed. pending: an order was submitted (or exists) and waits
    #: for the platform's approval. manual: nothing was done; a person must act.
    status: str
    detail: str = ""
    order_id: str | None = None


class Provider(ABC):
    """Connection to one platform.

    Contract:
    * ``read_account`` returns the whole actual state of one account, including pending
      change orders and the platform's clock; raises ``PlatformError`` for an unknown
      account and ``TransientError`` for a retryable failure.
    * ``perform`` does exactly one step. It must be idempotent per ``idempotency_key``: a
      repeated key returns the first outcome and changes nothing more. Raises
      ``TransientError`` (retry may help; the write may or may not have happened),
      ``PlatformError`` / ``PermissionDenied`` (permanent; in the platform's own wording).

    Limits are not the provider's business: :func:`reconciler.connect.provider_for` holds
    every provider to ``max_concurrency`` / ``rate_limit`` (reconciler/pool.py
    ``LimitedProvider``), the one place they are enforced.
    """

    platform: str
    #: calls this provider can carry at once by itself (an HTTP client's connection pool):
    #: the concurrency limit when reconciler.yaml sets none (None: no limit of its own)
    max_concurrency: int | None = None

    @abstractmethod
    def read_account(self, external_id: str) -> ActualAccount: ...

    @abstractmethod
    def perform(self, external_id: str, step: Step, idempotency_key: str) -> StepOutcome: ...

    def list_accounts(self) -> list[str]:
        """External ids of the accounts this credential can see (for import)."""
        return []

    def close(self) -> None:  # noqa: B027  (optional: a provider may hold nothing)
        """Let go of connections; the provider is not used afterwards."""

    @property
    def label(self) -> str:
        """A few words for a plan's header naming where the platform is read from:
        ``sandbox``, or the bridge's host for ``kind: http``."""
        return type(self).__name__


#: ``factory(platform, config)``: the provider of ``platform`` as reconciler.yaml configures it
ProviderFactory = Callable[["str", "Config"], Provider]

#: provider kind (reconciler.yaml ``providers.<platform>.kind``) -> its factory, as
#: ``"module:attribute"`` imported on first use (a callable is taken as is: tests).
PROVIDER_KINDS: dict[str, str | ProviderFactory] = {
    "sandbox": "reconciler.sandbox.provider:sandbox_provider",
    "portal": "reconciler.portal.provider:portal_provider",
    "http": "reconciler.protocol.client:http_provider",
}


def provider_factory(kind: str) -> ProviderFactory | None:
    """The factory of provider ``kind`` (its module imported now), None for an unknown kind."""
    entry = PROVIDER_KINDS.get(kind)
    if entry is None or not isinstance(entry, str):
        return entry
    module, _, attribute = entry.partition(":")
    factory: ProviderFactory = getattr(importlib.import_module(module), attribute)
    return factory
