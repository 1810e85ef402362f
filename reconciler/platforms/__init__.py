"""The platform registry: an explicit dict, name -> Platform."""

from __future__ import annotations

from reconciler.platforms.base import Platform
from reconciler.platforms.call2teams import CALL2TEAMS
from reconciler.platforms.ipecs import IPECS
from reconciler.platforms.mitel import MITEL

PLATFORMS: dict[str, Platform] = {p.name: p for p in (MITEL, IPECS, CALL2TEAMS)}


def get(name: str) -> Platform:
    return PLATFORMS[name]
