"""The sandbox as the :class:`~reconciler.provider.Provider` of one platform."""

from __future__ import annotations

from reconciler.config import Config
from reconciler.model import ActualAccount
from reconciler.plan import Step
from reconciler.provider import Provider, StepOutcome
from reconciler.sandbox.core import Sandbox


class SandboxProvider(Provider):
    def __init__(self, platform: str, sandbox: Sandbox) -> None:
        self.platform = platform
        self.sandbox = sandbox

    def read_account(self, external_id: str) -> ActualAccount:
        return self.sandbox.read_account(self.platform, external_id)

    def perform(self, external_id: str, step: Step, idempotency_key: str) -> StepOutcome:
        return self.sandbox.perform(self.platform, external_id, step, idempotency_key)

    def list_accounts(self) -> list[str]:
        return self.sandbox.list_accounts(self.platform)

    def close(self) -> None:
        self.sandbox.close()

    @property
    def label(self) -> str:
        return "sandbox"


def sandbox_provider(platform: str, config: Config) -> Provider:
    """``PROVIDER_KINDS["sandbox"]``: the sandbox file named by ``config``."""
    return SandboxProvider(platform, Sandbox.open(config))
