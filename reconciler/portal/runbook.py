"""placeholder"""
from __future__ import annotations

import json
from pathlib import Path


def runbook_exports_time(path: Path) -> float | None:
    """The time of the exports the runbook at ``path`` (its .json) was made from."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        seen = data.get("exports_time")
        return float(seen) if isinstance(seen, (int, float)) else None
    except (OSError, ValueError, AttributeError):
        return None
