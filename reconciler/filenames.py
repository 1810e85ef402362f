"""Which account file names reconciler accepts.

A file name reaches shell scripts and command lines in CI (a matrix entry, a step's
``paths``); a name such as ``a.yaml --force`` or ``$(curl ...).yaml`` must never get that
far. So account file names are plain: letters, digits, ``.``, ``_``, ``-`` and ``/``, not
starting with ``-`` (assumed: stricter than any file system, as wide as a slug-named file
needs). ``validate`` and ``changed`` refuse anything else, naming the file escaped.
"""

from __future__ import annotations

import re

from reconciler.errors import InputError

_ALLOWED = re.compile(r"[A-Za-z0-9._/-]*")
_RULE = ('account file names may hold only letters, digits, ".", "_", "-" and "/", '
         'and may not start with "-"; rename it')


def file_name_error(checked: str, shown: str) -> InputError | None:
    """An error naming ``shown`` when ``checked`` (the part of its path the repository
    controls: the file's name, or its path from the repository's top) is not plain."""
    reason = _problem(checked)
    if reason is None:
        return None
    return InputError(f"{reason}; {_RULE}", file=shown)


def _problem(name: str) -> str | None:
    if _ALLOWED.fullmatch(name):
        if name.startswith("-") or "/-" in name:
            return 'the name starts with "-" (it would be read as an option)'
        return None
    bad = next(c for c in name if not _ALLOWED.fullmatch(c))
    if bad.isspace():
        return f"the name holds whitespace ({_show(bad)})"
    return f"the name holds the character {_show(bad)}"


def _show(ch: str) -> str:
    if ch == " ":
        return "a space"
    if ch.isprintable():
        return f'"{ch}"'
    return f"U+{ord(ch):04X}"
