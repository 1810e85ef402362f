"""Small helpers shared by the sandbox tests."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from reconciler.config import Config, ProviderConfig
from reconciler.model import ActualUser, Licence
from reconciler.plan import Step
from reconciler.provider import StepOutcome
from reconciler.sandbox import Sandbox

IPECS, MITEL, C2T = "ipecs-cloud", "mitel-connect", "call2teams"
VERTICAL, NORTHWIND, CONTOSO, PARTNER = "C000000150", "CC-104233", "C2T-10042", "C2T-00001"
BASIC, PREMIUM, VM = "Basic User With VM", "Premium iPECS ONE USER", "Stand Alone VM"


def open_with(tmp_path: Path, **ipecs_options: Any) -> Sandbox:
    config = Config(providers={IPECS: ProviderConfig(options=ipecs_options)})
    return Sandbox(tmp_path / "sandbox.db", config)


def step(action: str, *, user: int | None = None, licence: str | None = None,
         before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
         params: dict[str, Any] | None = None) -> Step:
    return Step(id=uuid.uuid4().hex[:8], action=action, user=user, licence=licence,
                before=before, after=after, params=params or {})


def do(box: Sandbox, platform: str, external_id: str, s: Step,
       key: str | None = None) -> StepOutcome:
    """Perform ``s`` with a fresh idempotency key unless one is given."""
    return box.perform(platform, external_id, s, key or f"key-{s.id}")


def user_at(box: Sandbox, platform: str, external_id: str, extension: int) -> ActualUser:
    """The live user at ``extension`` (the test fails when there is none)."""
    user = box.read_account(platform, external_id).user(extension)
    assert user is not None, f"no user {extension}"
    return user


def licence_at(box: Sandbox, platform: str, external_id: str, key: str) -> Licence:
    licence = box.read_account(platform, external_id).licence(key)
    assert licence is not None, f"no licence {key}"
    return licence
