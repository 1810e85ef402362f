"""Everything the CLI writes goes through here.

- **Standard output and standard error** are wrapped for the length of a command
  (:func:`guarded_streams`): every line passes :func:`reconciler.escape.guard_line`, so no
  line can begin a GitHub workflow command and no control character reaches a terminal,
  whichever command or code path printed it; and a failed write (``plan > /dev/full``) is
  an :class:`OutputError` (one line, exit 1), not a lost plan with exit 0.
- **Annotations** (``validate --format github``) are the one sanctioned way to write a
  workflow command: :func:`annotation` builds it from escaped parts and writes it past the
  guard.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TextIO

import click

from reconciler.envvars import env_flag
from reconciler.errors import OutputError
from reconciler.escape import guard_line, workflow_command_message, workflow_command_property

_LINES = re.compile(r"[^\n]*\n|[^\n]+")  # lines as a runner reads them: "\n" ends one


class GuardedStream(io.TextIOBase):
    """A text stream writing through ``raw`` one guarded line at a time."""

    def __init__(self, raw: TextIO, label: str) -> None:
        super().__init__()
        self.raw = raw
        self.label = label
        self._partial = ""
        isatty = getattr(raw, "isatty", None)
        self._tty = bool(isatty and isatty())

    # what click looks at before writing (it must see a text stream, not a binary one)
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.raw, "encoding", None) or "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.raw, "errors", None) or "strict"

    def isatty(self) -> bool:
        return self._tty

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.raw.fileno()

    def write(self, s: str) -> int:
        if not isinstance(s, str):  # click probes for a binary stream with write(b"")
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        text = self._partial + s
        head, newline, rest = text.rpartition("\n")
        self._partial = rest
        if newline:
            self._emit(head + newline)
        if self._partial and self._tty and "\r" in self._partial:
            self._emit(self._partial)  # a progress bar redraws in place: show it now
            self._partial = ""
        return len(s)

    def write_unguarded(self, line: str) -> None:
        """A workflow command built by :func:`annotation` (its parts escaped there)."""
        self.flush_partial()
        self._raw_write(line)

    def flush_partial(self) -> None:
        if self._partial:
            self._emit(self._partial)
            self._partial = ""

    def flush(self) -> None:
        self.flush_partial()
        try:
            self.raw.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise self._failed(e) from None

    def _emit(self, text: str) -> None:
        guarded = "".join(guard_line(line, tty=self._tty) for line in _LINES.findall(text))
        self._raw_write(guarded)

    def _raw_write(self, text: str) -> None:
        try:
            self.raw.write(text)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise self._failed(e) from None

    def _failed(self, e: OSError) -> OutputError:
        return OutputError(f"cannot write to {self.label} ({e.strerror or e})", self)


@contextmanager
def guarded_streams() -> Iterator[tuple[GuardedStream, GuardedStream]]:
    """sys.stdout and sys.stderr guarded for the length of the block (restored after)."""
    saved = sys.stdout, sys.stderr
    out = GuardedStream(saved[0], "standard output")
    err = GuardedStream(saved[1], "standard error")
    sys.stdout, sys.stderr = out, err
    try:
        yield out, err
    finally:
        sys.stdout, sys.stderr = saved


def annotation(level: str, message: str, *, file: str | None = None, line: int | None = None,
               col: int | None = None) -> None:
    """Write one GitHub workflow command (``::error file=F,line=L,col=C::message``) to
    standard output: the only output allowed to begin a workflow command."""
    props = []
    if file:
        props.append(f"file={workflow_command_property(file)}")
    if line is not None:
        props.append(f"line={line}")
    if col is not None:
        props.append(f"col={col}")
    head = f"::{level} " + ",".join(props) if props else f"::{level}"
    text = f"{head}::{workflow_command_message(message)}\n"
    stream = sys.stdout
    if isinstance(stream, GuardedStream):
        stream.write_unguarded(text)
    else:
        stream.write(text)
    stream.flush()


def use_color(color: bool | None) -> bool:
    """``--color/--no-color`` if given; else colour only on a terminal without NO_COLOR."""
    if color is not None:
        return color
    return sys.stdout.isatty() and not env_flag("NO_COLOR")


def echo_rendered(render_to: Callable[[IO[str]], None], color: bool,
                  out: TextIO | None = None) -> None:
    """What ``render_to`` writes, echoed to ``out`` (default stdout) in pieces (through a
    spooled file, so a large plan is never one string in memory). Colour codes are never
    cut: with colour off there are none (render.env.paint), with it on click passes them
    through."""
    from reconciler.spool import spool

    with spool() as fh:
        render_to(fh)
        fh.seek(0)
        while piece := fh.read(1 << 16):
            click.echo(piece, out, nl=False, color=color)
