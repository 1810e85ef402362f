from __future__ import annotations

from sandbox_fixtures import _clean_env, sandbox  # noqa: F401  (shared fixtures)
