"""Kept for imports written before the layer moved: see :mod:`reconciler.escape`."""

from __future__ import annotations

from reconciler.escape import EMAIL, mask_email, md, one_line, terminal, walk_strings

__all__ = ["EMAIL", "mask_email", "md", "one_line", "terminal", "walk_strings"]
