"""PLACEHOLDER: platform planner (being written)."""

from __future__ import annotations

from typing import Any


def plan(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError
