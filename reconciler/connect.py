"""Which provider serves a platform: ``providers.<platform>.kind`` in reconciler.yaml,
looked up in :data:`reconciler.provider.PROVIDER_KINDS` (default: the sandbox)."""

from __future__ import annotations

import reconciler.sandbox  # noqa: F401  (registers the "sandbox" kind)
from reconciler.catalog import did_you_mean
from reconciler.config import Config
from reconciler.errors import ReconcilerError
from reconciler.platforms import PLATFORMS
from reconciler.provider import PROVIDER_KINDS, Provider


def provider_for(platform: str, config: Config) -> Provider:
    if platform not in PLATFORMS:
        raise ReconcilerError(
            f"unknown platform {platform!r}{did_you_mean(platform, PLATFORMS)}"
        )
    kind = config.provider(platform).kind
    factory = PROVIDER_KINDS.get(kind)
    if factory is None:
        where = f"{config.source}: " if config.source else ""
        raise ReconcilerError(
            f"{where}providers.{platform}.kind: unknown provider kind {kind!r}"
            f"{did_you_mean(kind, PROVIDER_KINDS)} (known: {', '.join(sorted(PROVIDER_KINDS))})"
        )
    return factory(platform, config)
