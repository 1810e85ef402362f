"""The platform registry: an explicit dict, name -> Platform, and the only list of platform
names in reconciler (the JSON schemas repeat it for editors; a test keeps them equal)."""

from __future__ import annotations

from reconciler.platforms.base import Platform
from reconciler.platforms.call2teams import CALL2TEAMS
from reconciler.platforms.ipecs import IPECS
from reconciler.platforms.mitel import MITEL

PLATFORMS: dict[str, Platform] = {p.name: p for p in (MITEL, IPECS, CALL2TEAMS)}


def get(name: str) -> Platform:
    """The platform called ``name``; a one-line error with did-you-mean otherwise."""
    platform = PLATFORMS.get(name)
    if platform is None:
        from reconciler.catalog import did_you_mean
        from reconciler.errors import ReconcilerError

        raise ReconcilerError(f"unknown platform {name!r}{did_you_mean(name, PLATFORMS)}")
    return platform
