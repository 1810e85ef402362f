"""Where a streamed command keeps what it has made until it needs it again (what comes
first in an output is known only at the end; apply shows, confirms, then applies): a
temporary file, in memory while small and on disk after, so peak memory stays flat however
many accounts pass."""

from __future__ import annotations

import json
import pickle
import shutil
import tempfile
import threading
from collections.abc import Iterator, MutableMapping, Sequence
from typing import IO, TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from reconciler.plan import AccountPlan

V = TypeVar("V")

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


def add_entry(body: IO[str], entry: str, first: bool) -> None:
    """One entry (JSON laid out with indent=2) of a document's top-level ``"accounts"``
    list into ``body``, indented as :func:`splice_entries` puts it."""
    body.write(("\n    " if first else ",\n    ") + entry.replace("\n", "\n    "))


def splice_entries(document: str, body: IO[str], any_entries: bool, out: IO[str]) -> None:
    """``document`` (JSON laid out with indent=2, its top-level ``"accounts"`` an empty
    list) into ``out`` with the entries spooled in ``body`` in that list; ``body`` is
    closed. Byte for byte ``json.dumps`` of the whole document."""
    head, sep, tail = document.partition('\n  "accounts": []')
    assert sep, "the document lays its accounts out at the top level"
    out.write(head + '\n  "accounts": [')
    if any_entries:
        copy(body, out)
        out.write("\n  ]")
    else:
        body.close()
        out.write("]")
    out.write(tail + "\n")


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


class _Pickles:
    """Objects pickled one after another into a spool (in memory while small, on disk
    after) and read back by where they start: the process's own file, so read back as the
    very objects put aside (their values keep their types). Safe to share between threads."""

    def __init__(self) -> None:
        self._fh = tempfile.SpooledTemporaryFile(  # noqa: SIM115  (closed by close())
            max_size=SPOOL_BYTES, mode="w+b")
        self._lock = threading.Lock()

    def put(self, obj: object) -> int:
        with self._lock:
            self._fh.seek(0, 2)
            at = self._fh.tell()
            pickle.dump(obj, self._fh, protocol=pickle.HIGHEST_PROTOCOL)
            return at

    def get(self, at: int) -> Any:
        with self._lock:
            self._fh.seek(at)
            return pickle.load(self._fh)  # noqa: S301  (our own file)

    def close(self) -> None:
        self._fh.close()


class PlanShelf:
    """Account plans, each with a note, put aside while apply runs and read back by index
    (``append`` / ``[i]`` / ``len`` like a list of ``(AccountPlan, note)``): apply of many
    accounts keeps the plans it showed and confirmed here, not as objects in memory."""

    def __init__(self) -> None:
        self._pickles = _Pickles()
        self._at: list[int] = []

    def append(self, item: tuple[AccountPlan, str]) -> None:
        self._at.append(self._pickles.put(item))

    def __getitem__(self, i: int) -> tuple[AccountPlan, str]:
        item: tuple[AccountPlan, str] = self._pickles.get(self._at[i])
        return item

    def __len__(self) -> int:
        return len(self._at)

    def plans(self) -> Sequence[AccountPlan]:
        """The plans alone, read back as they are asked for."""
        return _Plans(self)

    def close(self) -> None:
        self._pickles.close()


class Shelved(MutableMapping[str, V]):
    """A mapping whose values are put aside like :class:`PlanShelf`'s (only the keys stay
    in memory): the desired accounts apply plans again from (``Session.desired``)."""

    def __init__(self) -> None:
        self._pickles = _Pickles()
        self._at: dict[str, int] = {}

    def __setitem__(self, key: str, value: V) -> None:
        self._at[key] = self._pickles.put(value)

    def __getitem__(self, key: str) -> V:
        value: V = self._pickles.get(self._at[key])
        return value

    def __delitem__(self, key: str) -> None:
        del self._at[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)

    def close(self) -> None:
        self._pickles.close()


class _Plans(Sequence["AccountPlan"]):
    def __init__(self, shelf: PlanShelf) -> None:
        self.shelf = shelf

    def __len__(self) -> int:
        return len(self.shelf)

    @overload
    def __getitem__(self, i: int) -> AccountPlan: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[AccountPlan]: ...

    def __getitem__(self, i: int | slice) -> AccountPlan | Sequence[AccountPlan]:
        if isinstance(i, slice):
            return [self.shelf[j][0] for j in range(len(self))[i]]
        return self.shelf[i][0]
