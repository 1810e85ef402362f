"""Writing an output file (``plan -o``, ``import -o``, any command's file output): the one
way the CLI writes a file the user names.

- Only a regular file is written: a path that exists and is a device (``/dev/full``,
  ``/dev/sda``), a directory, a FIFO or a socket is refused, never replaced. A symbolic
  link is written through (the file it names is replaced, the link stays) only when it
  leads to a place inside the repository, as for account files (reconciler/filenames.py):
  a pull request that adds ``plans/plan.json -> ~/.bashrc`` must not get a CI runner's
  ``plan -o plans/plan.json`` to overwrite that file.
- Atomic: the text goes to a temporary file beside the target, flushed to disk, then
  renamed over it; a reader never sees half a file, and on any failure (disk full, an
  interrupt, a bug in the writer) the temporary file is removed and the target is as it
  was.
- Every failure is one :class:`~reconciler.errors.OutputError` line:
  ``cannot write PATH (reason)`` (exit 1).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from reconciler.errors import OutputError
from reconciler.escape import terminal
from reconciler.filenames import link_out_of_repository

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISFIFO, "a pipe"),
    (stat.S_ISSOCK, "a socket"),
)


def write_file(path: str | os.PathLike[str], write: Callable[[IO[str]], object]) -> None:
    """Create or replace the regular file ``path`` with what ``write(fh)`` writes."""
    # through symbolic links: a link is written through, never replaced by a file (nor is
    # /dev/stdout, a link to whatever standard output is)
    shown = terminal(os.fspath(path))
    target = Path(os.path.realpath(path))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise OutputError(f"cannot write {shown} ({e.strerror or e})") from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = next((word for test, word in _KINDS if test(mode)), "not a regular file")
        raise OutputError(f"cannot write {shown} (it is {kind}; -o writes only regular files)")
    escape = link_out_of_repository(path)
    if escape is not None:
        real, root = escape
        raise OutputError(
            f"cannot write {shown} (a symbolic link to {terminal(real)}, outside the "
            f"repository ({terminal(root)}); -o follows a link only within it)")
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # as open() would have made it, not mkstemp's 0600
        os.replace(tmp, target)
        tmp = None
    except OSError as e:
        raise OutputError(f"cannot write {shown} ({e.strerror or e})") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    write_file(path, lambda fh: fh.write(text))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
