"""Which provider serves a platform: ``providers.<platform>.kind`` in reconciler.yaml,
looked up in :data:`reconciler.provider.PROVIDER_KINDS` (default: the sandbox)."""

from __future__ import annotations

from reconciler.catalog import did_you_mean
from reconciler.config import Config
from reconciler.errors import ReconcilerError
from reconciler.platforms import get
from reconciler.provider import PROVIDER_KINDS, Provider, provider_factory
from reconciler.retry import Clock, Sleep


def provider_for(
    platform: str, config: Config, *, clock: Clock | None = None, sleep: Sleep | None = None
) -> Provider:
    """The platform's provider, held to its limits: ``max_concurrency`` calls at once (from
    reconciler.yaml, else the provider's own, e.g. an HTTP pool's size) and ``rate_limit``
    calls a second, in this one place (:class:`~reconciler.pool.LimitedProvider`) whatever
    the kind. ``clock``/``sleep``: the rate limiter's (tests inject fake time)."""
    get(platform)  # an unknown platform is a one-line error before any kind is looked up
    kind = config.provider(platform).kind
    factory = provider_factory(kind)
    if factory is None:
        where = f"{config.source}: " if config.source else ""
        raise ReconcilerError(
            f"{where}providers.{platform}.kind: unknown provider kind {kind!r}"
            f"{did_you_mean(kind, PROVIDER_KINDS)} (known: {', '.join(sorted(PROVIDER_KINDS))})"
        )
    provider = factory(platform, config)
    settings = config.provider(platform)
    slots = settings.max_concurrency or provider.max_concurrency
    if not slots and not settings.rate_limit:
        return provider
    from reconciler.pool import LimitedProvider

    return LimitedProvider(provider, max_concurrency=slots, rate_limit=settings.rate_limit,
                           clock=clock, sleep=sleep)
