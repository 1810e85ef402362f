"""What a platform package tells the portal machinery (its ``portal.py``), and the helpers
its readers share.

A platform's :class:`Portal` names the exports it reads (:class:`~reconciler.portal.table.Sheet`),
turns their rows into an :class:`~reconciler.model.ActualAccount`, writes an account back
in the same formats (``sandbox export``), and words each plan step as the portal's click
path for the runbook. The platform's vocabulary stays in its package; this module and the
rest of :mod:`reconciler.portal` only move rows and steps around.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from reconciler.catalog import Catalog, did_you_mean
from reconciler.model import ActualAccount
from reconciler.portal.table import Row, Sheet

#: stem -> rows of that export ([] for an optional export not downloaded)
Tables = Mapping[str, Sequence[Row]]


@dataclass(frozen=True)
class ReadContext:
    external_id: str
    catalog: Catalog
    #: the date the plan is made on (the platform's clock; trials expire against it)
    today: date
    tables: Tables


@dataclass(frozen=True)
class Portal:
    sheets: tuple[Sheet, ...]
    #: the exports' rows -> the account's actual state (ExportError for a bad row)
    read: Callable[[ReadContext], ActualAccount]
    #: an actual state -> stem -> rows (column key -> value), as the portal would export it
    export: Callable[[ActualAccount, Catalog], Mapping[str, list[dict[str, Any]]]]
    #: the portal's name and where a person logs in, for the runbook's heading
    name: str = ""
    #: step -> its instruction in the portal's words (see reconciler.portal.runbook)
    instructions: Callable[..., Any] | None = None
    #: user profile -> the vendor's bulk-import file for new users of that kind
    imports: Mapping[str, Sheet] | None = None
    #: the most rows one import file may hold
    import_batch: int = 50


def lookup(row: Row, key: str, label: str, choices: Mapping[str, str]) -> str:
    """``row[key]`` matched case- and space-insensitively against ``choices`` (the
    portal's word -> our key); an unknown word is an error on the row, with did-you-mean."""
    return match(row, label, str(row[key]), choices)


def match(row: Row, label: str, value: str, choices: Mapping[str, str]) -> str:
    """``value`` (a word of ``row``) as our key; see :func:`lookup`."""
    folded = {" ".join(k.lower().split()): v for k, v in choices.items()}
    hit = folded.get(" ".join(value.lower().split()))
    if hit is None:
        raise row.error(f'{label}: unknown "{value}"{did_you_mean(value, choices)}')
    return hit


def unique_extensions(rows: Iterable[Row], key: str = "extension", what: str = "extension"
                      ) -> None:
    """A second row with the same extension is an error naming the first one's line."""
    seen: dict[int, Row] = {}
    for row in rows:
        ext = row[key]
        if ext in seen:
            first = seen[ext]
            where = f"line {first.line}" if first.file == row.file else f"{first.file}:{first.line}"
            raise row.error(f"{what} {ext} appears twice (first on {where})")
        seen[ext] = row


def split_list(text: str | None) -> list[str]:
    """"Fax; Call Recording" or "fax, call-recording" -> the items, trimmed."""
    if not text:
        return []
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
