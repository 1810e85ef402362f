"""``kind: portal``: the live state read from the files a person downloads from the portal.

``providers.<platform>: {kind: portal, exports: DIR}`` reads, per account, the exports in
``DIR/<external_id>/`` (each platform's ``portal.py`` names them). Nothing is ever written
to a platform: :meth:`PortalProvider.perform` answers every step with "manual", and apply
writes a runbook instead (:mod:`reconciler.portal.runbook`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from reconciler.catalog import Catalog
from reconciler.config import Config
from reconciler.errors import ConfigError, InputError
from reconciler.model import ActualAccount
from reconciler.plan import Step
from reconciler.portal.spec import Portal, ReadContext
from reconciler.portal.table import ExportError, Row, find_export, read_sheet
from reconciler.provider import Provider, StepOutcome

log = logging.getLogger(__name__)

#: the runbook apply leaves next to an account's exports (reconciler.portal.runbook)
RUNBOOK_STEM = "runbook"


def exported_on(mtime: float) -> date:
    return datetime.fromtimestamp(mtime, UTC).date()


def stamp(mtime: float) -> str:
    return datetime.fromtimestamp(mtime, UTC).replace(microsecond=0).isoformat()


def newest_export(provider: PortalProvider, external_id: str) -> float:
    """The modification time of the account's newest export file (0 when none)."""
    folder = provider.folder(external_id)
    times = [p.stat().st_mtime for s in provider.portal.sheets
             if (p := find_export(folder, s)) is not None]
    return max(times, default=0.0)


def display(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (for error lines)."""
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    except ValueError:  # another drive
        return str(path)


class PortalProvider(Provider):
    def __init__(self, platform: str, exports: Path, catalog: Catalog, *,
                 today: Callable[[], date] | None = None) -> None:
        from reconciler.platforms import PLATFORMS

        self.platform = platform
        self.exports = Path(exports)
        self.catalog = catalog
        self.today = today
        portal = PLATFORMS[platform].portal
        if portal is None:
            raise ConfigError(f"{platform} has no portal exports to read")
        self.portal: Portal = portal

    @property
    def label(self) -> str:
        return f"portal exports in {self.exports}"

    def folder(self, external_id: str) -> Path:
        if not external_id or external_id in (".", "..") or any(
            c in external_id for c in "/\\\x00"
        ):
            raise InputError(f"external id {external_id!r} cannot name an exports folder")
        return self.exports / external_id

    def read_account(self, external_id: str) -> ActualAccount:
        folder = self.folder(external_id)
        if not folder.is_dir():
            raise ExportError(
                f"no exports for account {external_id}: download "
                + ", ".join(f"the {s.title} as {s.stem}.xlsx or .csv"
                            for s in self.portal.sheets if s.required)
                + f" into {display(folder)}/", display(self.exports))
        tables: dict[str, list[Row]] = {}
        newest = 0.0
        for sheet in self.portal.sheets:
            path = find_export(folder, sheet)
            if path is None:
                if sheet.required:
                    raise ExportError(f"missing the {sheet.title}: save it as {sheet.stem}.xlsx "
                                      f"or {sheet.stem}.csv", display(folder))
                tables[sheet.stem] = []
                continue
            newest = max(newest, path.stat().st_mtime)
            tables[sheet.stem] = read_sheet(path, sheet, display(path))
        self._warn_if_not_newer_than_runbook(folder, newest)
        # the state is as of the day the exports were downloaded (assumed: their file time)
        today = self.today() if self.today else exported_on(newest)
        return self.portal.read(ReadContext(external_id, self.catalog, today, tables))

    def _warn_if_not_newer_than_runbook(self, folder: Path, newest: float) -> None:
        """The last apply's runbook was made from exports of a certain time; exports no
        newer than those cannot show its steps done: the plan may be out of date."""
        from reconciler.portal.runbook import runbook_exports_time

        seen = runbook_exports_time(folder / f"{RUNBOOK_STEM}.json")
        if seen is not None and newest <= seen:
            log.warning(
                "%s: these exports (%s) are not newer than the last apply (its runbook was made "
                "from exports of %s): the plan may be out of date; download them again once "
                "the runbook is done", display(folder), stamp(newest), stamp(seen),
            )

    def perform(self, external_id: str, step: Step, idempotency_key: str) -> StepOutcome:
        return StepOutcome(status="manual",
                           detail="a person performs this step in the portal (see the runbook)")

    def list_accounts(self) -> list[str]:
        if not self.exports.is_dir():
            return []
        return sorted(p.name for p in self.exports.iterdir() if p.is_dir())


def exports_dir(platform: str, config: Config) -> Path:
    value = config.provider(platform).options.get("exports")
    if not isinstance(value, str) or not value:
        raise ConfigError(f"providers.{platform}.exports: name the directory holding the "
                          "portal exports (kind: portal)", file=config.source)
    path = Path(value)
    return path if path.is_absolute() else Path(config.root) / path


def portal_provider(platform: str, config: Config) -> Provider:
    """``PROVIDER_KINDS["portal"]``: the exports directory named in reconciler.yaml."""
    from reconciler.pricebook import load_catalogs

    return PortalProvider(platform, exports_dir(platform, config), load_catalogs(config)[platform])
