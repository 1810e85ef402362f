"""The embedded sandbox: SQLite simulations of the three platforms (PRODUCT.md §6).

It is one provider among others (``PROVIDER_KINDS["sandbox"]`` in reconciler/provider.py
names :func:`reconciler.sandbox.provider.sandbox_provider`); no core module imports it.
"""

from __future__ import annotations

from reconciler.sandbox.core import Sandbox, sandbox_path
from reconciler.sandbox.faults import FAULTS_ENV, FaultInjector, FaultSpec, parse_faults
from reconciler.sandbox.provider import SandboxProvider, sandbox_provider

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
