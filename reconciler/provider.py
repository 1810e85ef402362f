"""The one small interface every platform connection implements.

A provider reads an account's actual state and performs one step at a time. The embedded
sandbox (``reconciler.sandbox``) implements it for all three platforms; a real platform API
plugs in behind the same interface and is registered in :data:`PROVIDER_KINDS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.model import ActualAccount
from reconciler.plan import Step


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
    """

    platform: str

    @abstractmethod
    def read_account(self, external_id: str) -> ActualAccount: ...

    @abstractmethod
    def perform(self, external_id: str, step: Step, idempotency_key: str) -> StepOutcome: ...

    def list_accounts(self) -> list[str]:
        """External ids of the accounts this credential can see (for import)."""
        return []


#: provider kind (from reconciler.yaml ``providers.<platform>.kind``) -> factory
ProviderFactory = Callable[..., Provider]
PROVIDER_KINDS: dict[str, ProviderFactory] = {}
