"""Where a streamed output keeps what it has rendered until it knows what comes first: a
temporary file, in memory while small and on disk after, so peak memory stays flat however
many accounts pass."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from typing import IO, Any

#: rendered accounts held in memory up to this size, then on disk (assumed: 256 KiB)
SPOOL_BYTES = 256 * 1024


def spool() -> IO[str]:
    """A text spool (closed by whoever copies it out)."""
    return tempfile.SpooledTemporaryFile(  # noqa: SIM115  (closed by its writer)
        max_size=SPOOL_BYTES, mode="w+", encoding="utf-8", newline="")


def lines(fh: IO[str]) -> Iterator[str]:
    """The spool's lines from its start (for a template to write out)."""
    fh.seek(0)
    yield from fh


def copy(fh: IO[str], out: IO[str]) -> None:
    """The spool's content into ``out``; the spool is closed."""
    fh.seek(0)
    shutil.copyfileobj(fh, out)
    fh.close()


class Views:
    """Plain data (an account's view) put aside one JSON line each and read back by the
    number :meth:`put` gave it: for an output that picks, at the end, the few accounts it
    shows in full (the markdown comment within its size budget)."""

    def __init__(self) -> None:
        self._fh = tempfile.SpooledTemporaryFile(  # noqa: SIM115  (closed by close())
            max_size=SPOOL_BYTES, mode="w+b")
        self._offsets: list[int] = []

    def put(self, data: Any) -> int:
        self._fh.seek(0, 2)
        self._offsets.append(self._fh.tell())
        self._fh.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
                       + b"\n")
        return len(self._offsets) - 1

    def get(self, number: int) -> Any:
        self._fh.seek(self._offsets[number])
        return json.loads(self._fh.readline())

    def close(self) -> None:
        self._fh.close()
