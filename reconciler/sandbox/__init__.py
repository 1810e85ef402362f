"""The embedded sandbox: SQLite simulations of the three platforms (PRODUCT.md §6).

Importing this package registers the ``sandbox`` provider kind.
"""

from __future__ import annotations

from reconciler.provider import PROVIDER_KINDS
from reconciler.sandbox.core import Sandbox, sandbox_path
from reconciler.sandbox.faults import FAULTS_ENV, FaultInjector, FaultSpec, parse_faults
from reconciler.sandbox.provider import SandboxProvider, sandbox_provider

PROVIDER_KINDS.setdefault("sandbox", sandbox_provider)

__all__ = [
    "FAULTS_ENV",
    "FaultInjector",
    "FaultSpec",
    "Sandbox",
    "SandboxProvider",
    "parse_faults",
    "sandbox_path",
    "sandbox_provider",
]
