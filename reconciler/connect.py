"""Which provider serves a platform: ``providers.<platform>.kind`` in reconciler.yaml,
looked up in :data:`reconciler.provider.PROVIDER_KINDS` (default: the sandbox)."""

from __future__ import annotations

from reconciler.catalog import did_you_mean
from reconciler.config import Config
from reconciler.errors import ReconcilerError
from reconciler.platforms import get
from reconciler.provider import PROVIDER_KINDS, Provider, provider_factory


def provider_for(platform: str, config: Config) -> Provider:
    get(platform)  # an unknown platform is a one-line error before any kind is looked up
    kind = config.provider(platform).kind
    factory = provider_factory(kind)
    if factory is None:
        where = f"{config.source}: " if config.source else ""
        raise ReconcilerError(
            f"{where}providers.{platform}.kind: unknown provider kind {kind!r}"
            f"{did_you_mean(kind, PROVIDER_KINDS)} (known: {', '.join(sorted(PROVIDER_KINDS))})"
        )
    return factory(platform, config)
