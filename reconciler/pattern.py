"""A JSON Schema ``pattern`` with the meaning JSON Schema gives it, for every validator.

JSON Schema patterns are ECMA-262 regular expressions; jsonschema runs them with Python's
``re``, where ``$`` also matches before a last newline: ``"acme\\n"`` matched
``^[a-z0-9-]+$``, so a slug, an environment variable's name, an e-mail address or a plan's
digest could end in a newline that then broke a line of a log, a comment or a shell loop.
And Python's ``\\d`` takes any script's digits (``Decimal`` reads them too).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

_CLASS_ESCAPES = {"\\d": "0-9", "\\w": "A-Za-z0-9_"}
_ESCAPES = {"\\d": "[0-9]", "\\D": "[^0-9]", "\\w": "[A-Za-z0-9_]", "\\W": "[^A-Za-z0-9_]"}


@functools.cache
def pattern_search(pattern: str) -> Callable[[str], re.Match[str] | None]:
    """``search`` of a schema's ``pattern`` with the meaning JSON Schema gives it
    (ECMA-262), not Python's: ``$`` matches only at the very end (Python's also matches
    before a last newline, so a slug ``"acme\\n"`` passed ``^[a-z0-9-]+$``), and ``\\d``,
    ``\\w`` are ASCII (Python's ``\\d`` takes any script's digits, which ``Decimal`` reads)."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            pair = pattern[i:i + 2]
            table = _CLASS_ESCAPES if in_class else _ESCAPES
            out.append(table.get(pair, pair))
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "$":
            c = r"\Z"
        out.append(c)
        i += 1
    return re.compile("".join(out)).search


def _pattern_keyword(validator: Any, pattern: str, instance: Any, _schema: Any) -> Any:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not pattern_search(pattern)(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def validator_class(base: Any, **kwargs: Any) -> Any:
    """``base`` (a jsonschema validator class) with :func:`pattern_search`'s ``pattern``."""
    import jsonschema

    return jsonschema.validators.extend(base, validators={"pattern": _pattern_keyword},
                                        **kwargs)
