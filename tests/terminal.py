"""Run the real CLI on a pseudo-terminal (os.openpty), as a person at a terminal would:
its stdin, stdout and stderr are the terminal, so isatty() is true and prompts are asked.
Bounded in time; the process is killed if it outlives the test."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.master, slave = os.openpty()
        base = {k: v for k, v in os.environ.items()
                if k not in ("NO_COLOR", "RECONCILER_SANDBOX_FAULTS", "RECONCILER_MITEL_ROLE")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reconciler", *args], cwd=cwd,
            stdin=slave, stdout=slave, stderr=slave, close_fds=True,
            env={**base, "TERM": "xterm", "COLUMNS": "120", **(env or {})},
            start_new_session=True,
        )
        os.close(slave)
        self.raw = b""

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", "replace")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # the terminal closed: the process has ended
            return False
        if not chunk:
            return False
        self.raw += chunk
        return True

    def expect(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text)
            if found:
                return found
            if not self._read(min(0.2, max(0.0, deadline - time.monotonic()))):
                break
        found = re.search(pattern, self.text)
        assert found, f"{pattern!r} not seen on the terminal:\n{self.text}"
        return found

    def send(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def wait(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.2)
        if self.proc.poll() is not None:  # what it wrote before it ended
            while select.select([self.master], [], [], 0.1)[0] and self._read(0):
                pass
        if self.proc.poll() is None:
            self.close()
            raise AssertionError(f"still running after {timeout} s:\n{self.text}")
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        with contextlib.suppress(OSError):
            os.close(self.master)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def plain(text: str) -> str:
    """What the terminal shows without colour codes."""
    return ANSI.sub("", text)
