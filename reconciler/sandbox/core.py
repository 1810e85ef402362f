"""The sandbox: one SQLite file simulating all three platforms (PRODUCT.md §6).

:class:`Sandbox` is the operator's handle (reads, writes through the platform rules, the
clock, approvals, seeding, the bill); :class:`reconciler.sandbox.provider.SandboxProvider`
wraps it as the :class:`~reconciler.provider.Provider` of one platform.
"""

from __future__ import annotations

import importlib
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from reconciler.catalog import Catalog
from reconciler.config import Config
from reconciler.errors import ConfigError, PlatformError, ReconcilerError
from reconciler.model import ActualAccount, Site
from reconciler.plan import Step
from reconciler.provider import StepOutcome
from reconciler.sandbox import billing, db, state
from reconciler.sandbox.common import APPROVAL_MODES, Ctx, Settings
from reconciler.sandbox.faults import FaultInjector


class _Simulators(Mapping[str, ModuleType]):
    """platform -> the module simulating it (its ``HANDLERS``, ``ACCOUNT_NOT_FOUND``),
    imported the first time that platform is used: reading one Mitel account loads no
    iPECS or Call2Teams rules. Each module's own ``PLATFORM`` must equal its key
    (tests/sandbox/test_sandbox_own_rules.py)."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = dict(modules)

    def __getitem__(self, platform: str) -> ModuleType:
        return importlib.import_module(self._modules[platform])

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


PLATFORM_MODULES: Mapping[str, ModuleType] = _Simulators({
    "mitel-connect": "reconciler.sandbox.mitel",
    "ipecs-cloud": "reconciler.sandbox.ipecs",
    "call2teams": "reconciler.sandbox.call2teams",
})


def sandbox_path(config: Config) -> Path:
    path = Path(config.sandbox_path)
    return path if path.is_absolute() else Path(config.root) / path


def load_catalogs(config: Config) -> Mapping[str, Catalog]:
    """The platforms' catalogs at the sandbox's own price list: the catalog's list prices,
    or the file ``sandbox.prices`` names. Never the partner's price book: a platform bills
    from its own prices, and a plan compares that bill with the price book's estimate."""
    from reconciler.platforms import PLATFORMS
    from reconciler.pricebook import load_pricebook

    catalogs = {name: platform.catalog for name, platform in PLATFORMS.items()}
    if config.sandbox_prices is None:
        return catalogs
    path = config.sandbox_prices
    if not path.is_file():
        raise ConfigError(f"sandbox.prices: {path} does not exist or is not a file",
                          file=config.source)
    book = load_pricebook(path)
    return {name: book.apply(catalog) for name, catalog in catalogs.items()}


class Sandbox:
    """The sandbox file at ``path``: created with its directory and seeded with the demo
    live state on first use (``demo=False``: an empty sandbox)."""

    def __init__(
        self,
        path: Path,
        config: Config | None = None,
        *,
        demo_state: bool = True,
        faults: FaultInjector | None = None,
        catalogs: Mapping[str, Catalog] | None = None,
    ) -> None:
        self.config = config or Config()
        self.path = Path(path)
        self.faults = faults if faults is not None else FaultInjector.from_env()
        self.catalogs = catalogs if catalogs is not None else load_catalogs(self.config)
        self._settings = _settings(self.config)
        self.db = db.SandboxDB(self.path)
        self.db.ensure_schema(_seed_demo if demo_state else None)

    @classmethod
    def open(cls, config: Config | None = None, **kwargs: Any) -> Sandbox:
        config = config or Config()
        return cls(sandbox_path(config), config, **kwargs)

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------ platform interface

    def read_account(self, platform: str, external_id: str) -> ActualAccount:
        self.faults.before(f"read of {external_id}")
        with self.db.read() as c:
            acc = self._account(c, platform, external_id)
            today = db.today(c)
            catalog = self.catalogs[platform]
            account = state.read_account(c, acc, catalog, today)
            # like a real platform, the sandbox reports what it bills
            return replace(account,
                           billed_monthly=billing.billed_monthly(c, acc, catalog, today),
                           billed_currency=catalog.currency)

    def list_accounts(self, platform: str | None = None) -> list[str]:
        with self.db.read() as c:
            return [a.external_id for a in state.all_accounts(c, platform)]

    def perform(
        self, platform: str, external_id: str, step: Step, idempotency_key: str, *,
        request: str = "",
    ) -> StepOutcome:
        """Do one step under the platform's rules, once per idempotency key.

        ``request``: a digest of what the step asks for (the served sandbox passes
        :func:`reconciler.protocol.wire.step_meaning`); the same key with another digest
        is refused as another request (HTTP 409)."""
        if platform not in PLATFORM_MODULES:
            raise ReconcilerError(f"unknown platform {platform!r}")
        if step.action == "manual":
            # apply never performs a manual step; if asked, nothing is done (a person acts)
            return StepOutcome(status="manual", detail=str(step.params.get("request", "")))
        if not isinstance(idempotency_key, str) or not idempotency_key:
            raise PlatformError("an idempotency key is required for every write")
        handler = PLATFORM_MODULES[platform].HANDLERS.get(step.action)
        if handler is None:
            raise PlatformError(f"{platform} has no operation {step.action!r}")
        self.faults.before(f"{step.action} on {external_id}")
        with self.db.write() as c:
            acc = self._account(c, platform, external_id)
            first = db.recorded_outcome(c, idempotency_key)
            if first is not None:
                if (
                    first["_account_id"] != acc.id
                    or first["_action"] != step.action
                    or (request and first.get("request", request) != request)
                ):
                    raise PlatformError(
                        f"idempotency key {idempotency_key} was already used for another "
                        "request", code="idempotency-conflict",
                    )
                return StepOutcome(first["status"], first["detail"], first["order_id"])
            ctx = Ctx(c, acc, self.catalogs[platform], db.today(c), idempotency_key,
                      self._settings)
            outcome = handler(ctx, step)
            db.record_outcome(c, idempotency_key, acc.id, step.action, {
                "status": outcome.status, "detail": outcome.detail,
                "order_id": outcome.order_id, **({"request": request} if request else {}),
            })
        self.faults.after_commit()
        return outcome

    def _account(self, c: Any, platform: str, external_id: str) -> state.AccountRow:
        if platform not in PLATFORM_MODULES:
            raise ReconcilerError(f"unknown platform {platform!r}")
        return state.find_account(c, platform, external_id,
                                  PLATFORM_MODULES[platform].ACCOUNT_NOT_FOUND)

    # ------------------------------------------------------------------- the operator

    def today(self) -> date:
        with self.db.read() as c:
            return db.today(c)

    def advance_clock(self, days: int) -> date:
        if days < 0:
            raise ReconcilerError("the sandbox clock only moves forward")
        with self.db.write() as c:
            return db.advance_clock(c, days)

    def approve(self, order_no: int) -> str:
        return self._decide(order_no, approve=True)

    def reject(self, order_no: int) -> str:
        return self._decide(order_no, approve=False)

    def _decide(self, order_no: int, *, approve: bool) -> str:
        with self.db.write() as c:
            return PLATFORM_MODULES["ipecs-cloud"].decide(c, order_no, approve,
                                                           db.today(c).isoformat())

    def add_account(
        self, platform: str, external_id: str, name: str | None = None, kind: str = "client",
        sites: Iterable[Site] = (),
    ) -> None:
        if platform not in PLATFORM_MODULES:
            known = ", ".join(PLATFORM_MODULES)
            raise ReconcilerError(f"unknown platform {platform!r} (known: {known})")
        if kind not in ("client", "internal"):
            raise ReconcilerError(f"kind must be client or internal, not {kind!r}")
        with self.db.write() as c:
            state.create_account(c, platform, external_id, name or external_id, kind,
                                 tuple(sites))

    def load_state(self, accounts: Iterable[ActualAccount]) -> None:
        """Seed accounts as they are (no platform rule checked), in one transaction."""
        with self.db.write() as c:
            for account in accounts:
                state.put_account(c, account)

    def reset(self, *, demo_state: bool = True) -> None:
        """Everything back to the demo live state (or empty) and the clock to its start."""
        with self.db.write() as c:
            db.wipe(c)
            if demo_state:
                _seed_demo(c)

    def billed_monthly(self, platform: str, external_id: str) -> Decimal:
        with self.db.read() as c:
            acc = self._account(c, platform, external_id)
            return billing.billed_monthly(c, acc, self.catalogs[platform], db.today(c))

    def charges(self, platform: str, external_id: str) -> list[dict[str, Any]]:
        """One-time charges the platform billed the account, oldest first."""
        with self.db.read() as c:
            acc = self._account(c, platform, external_id)
            return billing.charges(c, acc)

    def snapshot(self, only: str | None = None) -> dict[str, Any]:
        """Everything, as plain JSON data (``sandbox show --format json``)."""
        from reconciler.sandbox.show import snapshot

        return snapshot(self, only)


def _settings(config: Config) -> Settings:
    opts = config.provider("ipecs-cloud").options
    approval = str(opts.get("approval", "immediate"))
    if approval not in APPROVAL_MODES:
        raise ConfigError(
            f"providers.ipecs-cloud.approval must be one of {', '.join(APPROVAL_MODES)}, "
            f"not {approval!r}",
            file=config.source,
        )
    delay = opts.get("approval_delay_days", 1 if approval == "delayed" else 0)
    if not isinstance(delay, int) or isinstance(delay, bool) or delay < 0:
        raise ConfigError(
            f"providers.ipecs-cloud.approval_delay_days must be a whole number of days, "
            f"not {delay!r}",
            file=config.source,
        )
    return Settings(mitel_role=config.role("mitel-connect"), approval=approval,
                    approval_delay_days=delay)


def _seed_demo(c: sqlite3.Connection) -> None:
    """The demo live state (its module is imported only when a sandbox is seeded)."""
    from reconciler.sandbox import demo

    demo.seed(c)
