"""Reading and writing the portals' spreadsheet exports (.xlsx through openpyxl, and CSV).

A platform describes each export it reads as a :class:`Sheet` (its columns, the portal's
header words); this module turns a file into :class:`Row` values, located by line, or a
one-line ``file:line: message`` :class:`ExportError`. Headers match case- and
space-insensitively ("Order(+/-)" is "order (+/-)"); unknown columns are ignored.

Cells are hostile text: they come from whoever typed them into the portal. A value that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) is written to CSV with a
leading apostrophe (Excel's own "text" marker) and read back without it; to .xlsx it is
written as a text cell, never a formula.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from reconciler.errors import InputError
from reconciler.outfile import write_file

#: export file formats, in the order a directory is searched
SUFFIXES = (".xlsx", ".csv")
#: (assumed) a cell longer than this is not a portal value: refused, not read into memory
MAX_CELL = 10_000
#: (assumed) more data rows than this is not one account's export
MAX_ROWS = 100_000
#: a download may start with title lines: the header is looked for in this many rows
HEADER_SEARCH = 10
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class ExportError(InputError):
    """A portal export that cannot be read: ``file:line: message`` (line 0: the file)."""

    def __init__(self, message: str, file: str, line: int = 0) -> None:
        self.line = line
        super().__init__(message, file=f"{file}:{line}" if line else file)


@dataclass(frozen=True)
class Column:
    key: str
    #: the portal's header; aliases after it (all matched case- and space-insensitively)
    headers: tuple[str, ...]
    required: bool = True
    #: text | int (a whole number, not negative) | signed (Order(+/-), Qty) | date | money
    type: str = "text"

    @property
    def header(self) -> str:
        return self.headers[0]


@dataclass(frozen=True)
class Sheet:
    """One export a person downloads from the portal into ``DIR/<external_id>/``."""

    #: file name without suffix: ``users`` -> users.xlsx or users.csv
    stem: str
    #: what the person downloads, in the portal's words (for errors and docs/portal.md)
    title: str
    columns: tuple[Column, ...]
    required: bool = True
    #: the format ``sandbox export`` writes
    suffix: str = ".csv"

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


@dataclass(frozen=True)
class Row:
    file: str
    line: int
    values: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values.get(key)

    def error(self, message: str) -> ExportError:
        return ExportError(message, self.file, self.line)


def norm(header: str) -> str:
    return "".join(str(header).split()).lower()


def find_export(folder: Path, sheet: Sheet) -> Path | None:
    """``folder/<stem>.xlsx`` or ``.csv`` (case-insensitive); two of them is an error."""
    if not folder.is_dir():
        return None
    found = sorted(
        p for p in folder.iterdir()
        if p.stem.lower() == sheet.stem and p.suffix.lower() in SUFFIXES and p.is_file()
    )
    if len(found) > 1:
        names = " and ".join(p.name for p in found)
        raise ExportError(f"two exports of the {sheet.title}: {names}; keep one", str(folder))
    return found[0] if found else None


# ------------------------------------------------------------------------------ reading


def read_sheet(path: Path, sheet: Sheet, display: str | None = None) -> list[Row]:
    """The data rows of ``path`` (header row first, blank rows skipped), values parsed."""
    name = display or str(path)
    raw = _xlsx_rows(path, name) if path.suffix.lower() == ".xlsx" else _csv_rows(path, name)
    header: tuple[int, list[str]] | None = None
    first: tuple[int, list[str]] | None = None
    seen = 0
    rows: list[Row] = []
    for line, cells in raw:
        if not any(c is not None and str(c).strip() for c in cells):
            continue
        if header is None:
            texts = [str(c).strip() if c is not None else "" for c in cells]
            first = first or (line, texts)
            seen += 1
            if _is_header(texts, sheet):
                header = (line, texts)
                index = _columns(texts, sheet, name, line)
            elif seen >= HEADER_SEARCH:
                _columns(first[1], sheet, name, first[0])  # raises: names what is missing
            continue
        if len(rows) >= MAX_ROWS:
            raise ExportError(f"more than {MAX_ROWS} rows: not one account's {sheet.title}",
                              name, line)
        values: dict[str, Any] = {}
        for col, i in index.items():
            cell = cells[i] if i < len(cells) else None
            values[col.key] = _parse(cell, col, name, line)
        for col in sheet.columns:
            if col.required and values.get(col.key) is None:
                raise ExportError(f"{col.header} is empty", name, line)
        rows.append(Row(name, line, values))
    if header is None and first is not None:
        _columns(first[1], sheet, name, first[0])
    if header is None:
        expected = ", ".join(c.header for c in sheet.columns if c.required)
        raise ExportError(
            f"empty file: expected the {sheet.title} with a header row ({expected})", name
        )
    return rows


def _is_header(texts: Sequence[str], sheet: Sheet) -> bool:
    """Whether a row holds every required header (title lines above it do not)."""
    present = {norm(t) for t in texts}
    return all(any(norm(h) in present for h in c.headers) for c in sheet.columns if c.required)


def _columns(headers: Sequence[str], sheet: Sheet, file: str, line: int) -> dict[Column, int]:
    position: dict[str, int] = {}
    for i, text in enumerate(headers):
        key = norm(text)
        if not key:
            continue
        if key in position:
            raise ExportError(f'column "{text}" appears twice', file, line)
        position[key] = i
    index: dict[Column, int] = {}
    for col in sheet.columns:
        at = next((position[norm(h)] for h in col.headers if norm(h) in position), None)
        if at is not None:
            index[col] = at
        elif col.required:
            expected = ", ".join(c.header for c in sheet.columns if c.required)
            raise ExportError(
                f'missing column "{col.header}" in the {sheet.title} (needs: {expected})',
                file, line,
            )
    return index


def _parse(cell: Any, col: Column, file: str, line: int) -> Any:
    if cell is None:
        return None
    if isinstance(cell, str):
        if len(cell) > MAX_CELL:
            raise ExportError(f"{col.header}: a cell of {len(cell)} characters is not a "
                              "portal value", file, line)
        text = cell.strip()
        if len(text) > 1 and text[0] == "'" and text[1] in _FORMULA + ("'",):
            text = text[1:]
        if not text:
            return None
    else:
        text = ""
    if col.type == "text":
        if isinstance(cell, float) and cell.is_integer():
            return str(int(cell))
        return text if isinstance(cell, str) else str(cell)
    if col.type in ("int", "signed"):
        number = _whole(cell, text)
        if number is None or (col.type == "int" and number < 0):
            raise ExportError(f'{col.header}: "{text or cell}" is not a whole number', file, line)
        return number
    if col.type == "date":
        if isinstance(cell, datetime):
            return cell.date()
        if isinstance(cell, date):
            return cell
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            raise ExportError(
                f'{col.header}: "{text}" is not a date (write YYYY-MM-DD)', file, line
            ) from None
    if col.type == "money":
        try:
            return Decimal(text.replace(",", "") if text else str(cell))
        except InvalidOperation:
            raise ExportError(f'{col.header}: "{text}" is not an amount', file, line) from None
    raise ValueError(f"unknown column type {col.type!r}")


def _whole(cell: Any, text: str) -> int | None:
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        return int(cell) if cell.is_integer() else None
    plain = text.replace(",", "")
    if plain.lstrip("+-").isdigit() and plain.isascii() and len(plain) < 19:
        return int(plain)
    return None


def _csv_rows(path: Path, file: str) -> Iterator[tuple[int, list[Any]]]:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ExportError(f"cannot read ({e.strerror or e})", file) from e
    if data.startswith(b"PK\x03\x04") or b"\x00" in data[:4096]:
        raise ExportError("not a CSV text file (is it a spreadsheet saved as .csv? save it "
                          "as CSV UTF-8)", file)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ExportError(
            f"not UTF-8 text (byte 0x{data[e.start]:02x}); save the export as CSV UTF-8",
            file, line,
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        start = 1
        for cells in reader:
            yield start, list(cells)
            start = reader.line_num + 1
    except csv.Error as e:
        raise ExportError(f"not a readable CSV file ({e})", file, reader.line_num) from None


def _xlsx_rows(path: Path, file: str) -> Iterator[tuple[int, list[Any]]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as e:
        raise ExportError(f"not an Excel workbook (.xlsx) ({type(e).__name__}); download "
                          "the list again or save it as .xlsx or CSV", file) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            return
        for line, cells in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            yield line, list(cells)
    finally:
        book.close()


# ------------------------------------------------------------------------------ writing


def write_sheet(path: Path, sheet: Sheet, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write ``rows`` (column key -> value) under the sheet's headers, .xlsx or CSV."""
    headers = [c.header for c in sheet.columns]
    table = [[_cell(row.get(c.key)) for c in sheet.columns] for row in rows]
    if path.suffix.lower() == ".xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        ws = book.active
        assert ws is not None
        ws.append(headers)
        for values in table:
            ws.append([None if v == "" else v for v in values])
        for line in ws.iter_rows(min_row=2):
            for c in line:
                if isinstance(c.value, str):
                    c.data_type = "s"  # never a formula, whatever the text says
        book.save(path)
        return
    def write_rows(fh: IO[str]) -> None:
        writer = csv.writer(fh)  # its "\r\n" line ends pass as they are on this system
        writer.writerow(headers)
        for values in table:
            writer.writerow([csv_text(v) if isinstance(v, str) else v for v in values])

    write_file(path, write_rows)  # a regular file only, atomically (reconciler.outfile)


def csv_text(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (read back unchanged by read_sheet)."""
    if value and (value[0] in _FORMULA or (value[0] == "'" and value[1:2] in _FORMULA + ("'",))):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (date, int)) and not isinstance(value, bool):
        return value.isoformat() if isinstance(value, date) else value
    if isinstance(value, Decimal):
        return str(value)
    return str(value)
