"""Which account files reconciler accepts, before it reads a byte of them.

Names. A file name reaches shell scripts and command lines in CI (a matrix entry, a step's
``paths``); a name such as ``a.yaml --force`` or ``$(curl ...).yaml`` must never get that
far. So account file names are plain: letters, digits, ``.``, ``_``, ``-`` and ``/``, not
starting with ``-`` (assumed: stricter than any file system, as wide as a slug-named file
needs). ``validate`` and ``changed`` refuse anything else, naming the file escaped. What
is checked is the path from the git repository's top, directories included
(:func:`repository_path`): a pull request names those too.

Symbolic links. A pull request can add ``accounts/x.yaml -> /etc/shadow``; reading it
would echo its lines as unknown field names. An account file reached through a symbolic
link (the file or a directory on its path) must resolve to a file inside the repository,
else it is refused without being read. The repository (assumed) is the nearest directory
above the path as written (links not followed) that holds ``.git``; outside git, the
current directory when the path is under it (where reconciler.yaml is looked for), else
the directory the path names.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from reconciler.errors import InputError
from reconciler.escape import terminal

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


def repository_path(path: str | os.PathLike[str]) -> str:
    """What of ``path`` a pull request controls, and so what :func:`file_name_error`
    checks: its path from the top of its git repository (the nearest directory above
    holding ``.git``, links not followed), e.g. ``accounts/a b/x.yaml`` for a directory
    named ``a b``; outside git, just the file's name (the directories above are the
    user's own, assumed)."""
    absolute = os.path.abspath(path)
    top = _git_top(os.path.dirname(absolute))
    if top is None:
        return os.path.basename(absolute)
    return Path(os.path.relpath(absolute, top)).as_posix()


@lru_cache(maxsize=256)
def _git_top(directory: str) -> str | None:
    here = Path(directory)
    return next((str(c) for c in (here, *here.parents) if os.path.lexists(c / ".git")), None)


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


def link_out_of_repository(path: str | os.PathLike[str]) -> tuple[str, str] | None:
    """(where it leads, the repository) when ``path`` goes through a symbolic link to a
    place outside its repository (see the module doc); None when no link leads out."""
    absolute = os.path.abspath(path)
    real = os.path.realpath(absolute)
    if real == absolute:  # no link on the way: nothing to check
        return None
    root = os.path.realpath(_repository(os.path.dirname(absolute), os.path.abspath(os.getcwd())))
    if os.path.commonpath([root, real]) == root:
        return None
    return real, root


def outside_repository_error(path: Path, shown: str) -> InputError | None:
    """An error naming ``shown`` when ``path`` goes through a symbolic link to a file
    outside its repository (see the module doc); None when it is fine to read."""
    escape = link_out_of_repository(path)
    if escape is None:
        return None
    real, root = escape
    return InputError(
        f"a symbolic link to {terminal(real)}, outside the repository ({terminal(root)}): "
        "refused without reading it; account files live in the repository",
        file=shown,
    )


@lru_cache(maxsize=256)
def _repository(directory: str, cwd: str) -> str:
    top = _git_top(directory)
    if top is not None:
        return top
    if os.path.commonpath([cwd, directory]) == cwd:
        return cwd
    return directory
