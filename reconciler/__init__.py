"""reconciler: licences and user profiles of cloud phone systems, managed as code."""

from __future__ import annotations

__version__ = "0.1.0"
