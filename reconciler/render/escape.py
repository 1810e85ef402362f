"""Making user-supplied text safe for each output.

Names, e-mail addresses and messages come from account files and from the platforms, so
they may hold anything: a ``|`` that would split a markdown table cell, ``<img ...>``, a
backtick, an ANSI escape that would repaint a reviewer's terminal, or a right-to-left
override that makes text read differently from what it is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

# Line breaks become spaces (a name is one line); other control and bidi-override
# characters become U+FFFD so that the reviewer sees something was there.
_BREAKS = re.compile(r"\r\n|[\r\n\t\v\f\u2028\u2029\x85]")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")

# Entities rather than backslashes: they work in table cells *and* inside the HTML blocks
# (<summary>) of a GitHub comment, where backslash escapes would show literally.
_MD = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
    "|": "&#124;",
    "`": "&#96;",
    "\\": "&#92;",
    "*": "&#42;",
    "_": "&#95;",
    "~": "&#126;",
    "[": "&#91;",
    "]": "&#93;",
    "@": "&#64;",  # no @mentions of people from a user's name
    "$": "&#36;",  # no math rendering
}
_MD_RE = re.compile("|".join(re.escape(k) for k in _MD))


def one_line(text: str) -> str:
    """Line breaks to spaces, other control and bidi-override characters to U+FFFD."""
    text = _BREAKS.sub(" ", text)
    if text.isprintable():
        return text
    return "".join(
        "\ufffd" if (ch in _BIDI or unicodedata.category(ch) == "Cc") else ch for ch in text
    )


def mask_email(text: str) -> str:
    """``jstucker@vertical.com`` -> ``j***@vertical.com`` wherever an address appears."""
    return EMAIL.sub(r"\1***@\2", text)


def md(text: str) -> str:
    """Text safe in a GitHub markdown table cell and in an HTML block of a comment."""
    return _MD_RE.sub(lambda m: _MD[m.group(0)], one_line(text))


def walk_strings(data: Any, fn: Callable[[str], str]) -> Any:
    """A copy of plain data (dicts, lists) with ``fn`` applied to every string value."""
    if isinstance(data, str):
        return fn(data)
    if isinstance(data, dict):
        return {k: walk_strings(v, fn) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [walk_strings(v, fn) for v in data]
    return data
