"""One exception family and the one place that maps outcomes to exit codes.

Every error a user can cause is a :class:`ReconcilerError`; the CLI prints ``str(err)``
(one line) and exits with :func:`exit_code_for`. Nothing else decides exit codes.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

from reconciler.escape import terminal

if TYPE_CHECKING:
    from reconciler.model import Mark


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # an error, invalid input, or a blocked plan
    CHANGES = 2  # plan --detailed-exitcode: changes present; drift: drift found
    WAITING = 3  # apply: waiting on an approval or a manual step


class ReconcilerError(Exception):
    """Root of every error the CLI reports as one line (never a traceback). The line is
    shown escaped (reconciler.escape.terminal): a newline in a quoted name cannot start a
    line of its own. An error that is several lines on purpose sets ``lines``."""

    lines: tuple[str, ...] = ()

    exit_code = ExitCode.ERROR


class InputError(ReconcilerError):
    """A problem in a file the user wrote, located at ``file:line:col`` where known."""

    def __init__(self, message: str, mark: Mark | None = None, file: str | None = None) -> None:
        self.message = message
        self.mark = mark
        self.file = file if file is not None else (mark.file if mark else None)
        super().__init__(self._render())

    def _render(self) -> str:
        message = _printable(self.message)
        if self.mark is not None:
            return f"{self.mark}: {message}"
        if self.file:
            return f"{_printable(self.file)}: {message}"
        return message


def _printable(text: str) -> str:
    """One line whatever the user wrote: a newline, tab or terminal escape quoted from a
    file is shown escaped (\\n, \\x1b) instead of breaking the line or the terminal."""
    return terminal(text)


class ValidationFailed(ReconcilerError):
    """Many InputErrors collected across files; validate reports them all."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class ConfigError(InputError):
    """reconciler.yaml or pricebook.yaml is wrong."""


class PlatformError(ReconcilerError):
    """A platform refused a request permanently; ``message`` is in the platform's wording."""

    def __init__(self, message: str, *, code: str = "refused") -> None:
        self.message = message
        self.code = code
        super().__init__(message)


class PermissionDenied(PlatformError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="permission")


class TransientError(ReconcilerError):
    """Retryable: rate limit, 5xx, timeout (including a write whose answer was lost)."""

    #: seconds the platform asked to wait before retrying (its Retry-After), if it said
    retry_after: float | None = None


class OutputError(ReconcilerError):
    """Standard output, standard error or an output file could not be written."""

    def __init__(self, message: str, stream: object | None = None) -> None:
        super().__init__(message)
        #: the stream that failed (reconciler.cli.output), None for a file
        self.stream = stream


class StalePlan(ReconcilerError):
    pass


class LockHeld(ReconcilerError):
    pass


def exit_code_for(exc: BaseException) -> ExitCode:
    if isinstance(exc, ReconcilerError):
        return exc.exit_code
    return ExitCode.ERROR
