"""Shared by the portal tests: a workspace with the demo accounts, the sandbox and a
reconciler.yaml that serves every platform from portal exports."""

from __future__ import annotations

import shutil
from pathlib import Path

from reconciler.platforms import PLATFORMS

REPO = Path(__file__).resolve().parents[2]

PORTAL_CONFIG = "providers:\n" + "".join(
    f"  {p}: {{kind: portal, exports: exports}}\n" for p in PLATFORMS
)


def workspace(root: Path) -> Path:
    """``root`` with the demo accounts and a portal reconciler.yaml (exports/ beside it)."""
    shutil.copytree(REPO / "accounts", root / "accounts")
    (root / "reconciler.yaml").write_text(PORTAL_CONFIG, encoding="utf-8")
    return root
