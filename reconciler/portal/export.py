"""Writing an account's actual state in its portal's export formats (``sandbox export``),
into ``DIR/<external_id>/``: the layout the portal provider reads."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

from reconciler.catalog import Catalog
from reconciler.errors import ReconcilerError
from reconciler.model import ActualAccount
from reconciler.portal.table import SUFFIXES, write_sheet

FORMATS = ("xlsx", "csv")


def write_exports(actual: ActualAccount, catalog: Catalog, root: Path,
                  fmt: str | None = None, *, as_of: datetime | None = None) -> list[Path]:
    """Every export of ``actual``'s platform; ``fmt`` forces .xlsx or .csv (default: the
    format each portal downloads). ``as_of``: the files' time (the portal provider reads
    the state as of the day its exports were downloaded). Another format's file of the
    same export is removed, so the folder holds one file per export."""
    from reconciler.platforms import PLATFORMS

    portal = PLATFORMS[actual.platform].portal
    if portal is None:
        raise ReconcilerError(f"{actual.platform} has no portal exports")
    folder = root / actual.external_id
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        rows = portal.export(actual, catalog)
        for sheet in portal.sheets:
            suffix = f".{fmt}" if fmt else sheet.suffix
            for other in SUFFIXES:
                stale = folder / f"{sheet.stem}{other}"
                if other != suffix and stale.exists():
                    stale.unlink()
            path = folder / f"{sheet.stem}{suffix}"
            write_sheet(path, sheet, rows.get(sheet.stem, []))
            if as_of is not None:
                os.utime(path, (as_of.timestamp(), as_of.timestamp()))
            written.append(path)
    except OSError as e:
        raise ReconcilerError(f"cannot write the exports into {folder} ({e.strerror or e})") from e
    return written


def sandbox_time(day: date) -> datetime:
    """``day`` (the sandbox's clock) at the current UTC time of day: successive exports
    stay in order while the portal provider reads them as of the sandbox's day."""
    return datetime.combine(day, datetime.now(UTC).time(), UTC)
