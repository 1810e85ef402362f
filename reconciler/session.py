"""The one orchestration path of plan, drift, apply and import: load the desired accounts,
open each platform's provider once, read live state (transient failures retried, the
platform's limits respected, accounts through a bounded pool), plan each account, and plan
an account again from a fresh read when apply asks.

A command that needs a variant passes a parameter (``keep_desired`` for apply's re-plans),
not a copy of this loop.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from reconciler.catalog import Catalog
from reconciler.config import Config
from reconciler.errors import ValidationFailed
from reconciler.model import ActualAccount, DesiredAccount
from reconciler.plan import AccountPlan, Plan
from reconciler.pool import DEFAULT_PARALLELISM, ordered_map
from reconciler.prices import unpriced_in_currency
from reconciler.provider import Provider
from reconciler.retry import Clock, RetryPolicy, Sleep, call_with_retry
from reconciler.review import shared_sources, sources

if TYPE_CHECKING:
    from reconciler.planner import PlanOptions


class Providers:
    """Each platform's provider, opened on first use (once, whichever thread asks first)
    held to the platform's ``max_concurrency`` / ``rate_limit``
    (:func:`~reconciler.connect.provider_for`). Call with a
    platform name; :meth:`close` closes every provider opened."""

    def __init__(self, config: Config, *, clock: Clock | None = None,
                 sleep: Sleep | None = None) -> None:
        self.config = config
        self._clock = clock
        self._sleep = sleep
        self._made: dict[str, Provider] = {}
        self._lock = threading.Lock()

    def labels(self) -> dict[str, str]:
        """platform -> its provider's label, for the platforms opened so far."""
        with self._lock:
            return {platform: p.label for platform, p in sorted(self._made.items())}

    def __call__(self, platform: str) -> Provider:
        with self._lock:
            provider = self._made.get(platform)
            if provider is None:
                from reconciler.connect import provider_for

                provider = provider_for(platform, self.config, clock=self._clock,
                                        sleep=self._sleep)
                self._made[platform] = provider
            return provider

    def close(self) -> None:
        with self._lock:
            made, self._made = list(self._made.values()), {}
        for provider in made:
            provider.close()


#: sees each account as it is planned, possibly from several threads at once
#: (``reconciler report`` reads the live state so)
Observer = Callable[[DesiredAccount, ActualAccount, AccountPlan], None]


class Session:
    """Plans from account files and live state. Use as a context manager (or call
    :meth:`close`) so the providers' connections are let go.

    ``parallelism``: accounts read and planned at once (results keep the files' order);
    ``fingerprints=False``: the plans are only shown, never saved nor applied, so the live
    states are not fingerprinted (``AccountPlan.fingerprint`` is None);
    ``retry``, ``sleep``, ``clock``, ``rng``: the retries of reads (injected in tests).
    """

    def __init__(
        self,
        config: Config,
        options: PlanOptions | None = None,
        *,
        parallelism: int = DEFAULT_PARALLELISM,
        providers: Providers | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        fingerprints: bool = True,
    ) -> None:
        from reconciler.planner import PlanOptions

        self.config = config
        self.fingerprints = fingerprints
        self.options = options or PlanOptions()
        self.parallelism = max(1, parallelism)
        self.retry = retry or RetryPolicy()
        # looked up now rather than bound at import, so a test can patch time.sleep
        self.sleep = sleep or time.sleep
        self.clock = clock or time.monotonic
        self.rng = rng or random.Random()
        self.providers = providers or Providers(config, clock=clock, sleep=sleep)
        self._own_providers = providers is None
        self._catalogs: Mapping[str, Catalog] | None = None
        #: slug -> desired account, kept by :meth:`plan` with ``keep_desired`` (re-plans);
        #: apply of many accounts keeps them on disk instead (spool.Shelved)
        self.desired: MutableMapping[str, DesiredAccount] = {}

    @property
    def catalogs(self) -> Mapping[str, Catalog]:
        """The platforms' catalogs at the price book's prices, loaded on first use (a saved
        plan is applied without them)."""
        if self._catalogs is None:
            from reconciler.pricebook import load_catalogs

            self._catalogs = load_catalogs(self.config)
        return self._catalogs

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.providers.close()

    # ------------------------------------------------------------------ reading

    def read(self, platform: str, external_id: str) -> ActualAccount:
        """One account's live state; a read is harmless to repeat, so transient failures
        are retried like apply's writes."""
        provider = self.providers(platform)
        return call_with_retry(
            lambda: provider.read_account(external_id),
            self.retry,
            sleep=self.sleep,
            clock=self.clock,
            rng=self.rng,
        )

    # ------------------------------------------------------------------ planning

    def plan_account(self, desired: DesiredAccount, actual: ActualAccount) -> AccountPlan:
        from reconciler.planner import plan_account
        from reconciler.platforms import PLATFORMS

        platform = PLATFORMS[desired.platform]
        role = self.config.role(desired.platform) if platform.roles else None
        return plan_account(desired, actual, self.catalogs[desired.platform], platform,
                            self.options, role=role, fingerprint=self.fingerprints)

    def plan(
        self, paths: Sequence[str], *, account: str | None = None, keep_desired: bool = False,
        observe: Observer | None = None,
    ) -> Plan:
        """Load the account files under ``paths``, read each account's live state and plan it
        (:meth:`plans`, kept together as one Plan)."""
        return Plan(accounts=tuple(self.plans(paths, account=account,
                                              keep_desired=keep_desired, observe=observe)),
                    options=self.plan_options())

    def plan_options(self) -> dict[str, bool]:
        """The options a Plan made here records (apply makes it again with the same)."""
        return {"allow_downgrade": self.options.allow_downgrade, "force": self.options.force}

    def _threads(self) -> int:
        """Accounts planned at once: ``parallelism``, but one when every platform is the
        embedded sandbox without injected faults (the default set-up): its reads are this
        process's own CPU under the GIL, with no latency to overlap, so threads only add
        switching (about a fifth of a 1,000-account plan's CPU). The output is the same
        whatever the parallelism (pool.ordered_map keeps input order). (assumed)"""
        from reconciler.envvars import env_value
        from reconciler.platforms import PLATFORMS

        # the sandbox's fault injection (sandbox/faults.py FAULTS_ENV; no core module
        # imports the sandbox): latency to overlap, so the pool as asked
        if not self._own_providers or env_value("RECONCILER_SANDBOX_FAULTS") is not None:
            return self.parallelism
        if any(self.config.provider(p).kind != "sandbox" for p in PLATFORMS):
            return self.parallelism
        return 1

    def plans(
        self, paths: Sequence[str], *, account: str | None = None, keep_desired: bool = False,
        observe: Observer | None = None,
    ) -> Iterator[AccountPlan]:
        """Each account's plan, in the files' order, as it is made (``plan`` renders them
        one by one, so memory stays flat however many accounts there are).

        Files are loaded one at a time, and at most ``parallelism`` accounts are read and
        planned at once, so memory holds a few accounts' states, unless ``keep_desired``
        keeps each desired account for :meth:`replan`. Every file is still validated: all
        errors of all files are raised together (ValidationFailed) after the last plan, and
        no platform is read for an account after the first invalid file. A caller shows
        nothing before the iteration has ended without an error.
        """
        from reconciler.accounts import AccountStream

        stream = AccountStream(paths, self.config, keep_digests=True)
        self.catalogs  # noqa: B018  (a price book error is raised before any platform is read)

        def wanted() -> Iterator[tuple[DesiredAccount, str | None]]:
            for desired in stream:
                digest = stream.digest(desired.path)  # of the bytes it was read from
                if stream.errors or (account is not None and desired.slug != account):
                    continue
                if keep_desired:
                    self.desired[desired.slug] = desired
                yield desired, digest

        shared = shared_sources(self.config)  # the config and price book loaded now

        def one(item: tuple[DesiredAccount, str | None]) -> AccountPlan:
            desired, digest = item
            actual = self.read(desired.platform, desired.external_id)
            made = self.plan_account(desired, actual)
            # what a saved plan was made from: apply makes it again from the same (review.py)
            made = replace(made, source=sources(desired.path, self.config, shared, digest))
            if observe is not None:
                observe(desired, actual, made)
            return made

        made_any = False
        unpriced: list[AccountPlan] = []  # only the accounts the currency check refuses
        for made in ordered_map(one, wanted(), self._threads()):
            made_any = True
            if unpriced_in_currency([made], self.catalogs) is not None:
                unpriced.append(made)
            yield made
        stream.raise_errors()
        if account is not None and not made_any:
            raise stream.unknown(account)
        refusal = unpriced_in_currency(unpriced, self.catalogs)
        if refusal is not None:
            raise ValidationFailed([refusal])

    def load(self, paths: Sequence[str], *, account: str | None = None) -> None:
        """Load and validate the account files under ``paths`` (every error raised
        together) and keep them for :meth:`replan`, without reading any platform (a saved
        plan is planned again only under each account's lock)."""
        from reconciler.accounts import load_accounts

        for desired in load_accounts(list(paths), self.config, only=account):
            self.desired[desired.slug] = desired

    def replan(self, slug: str, actual: ActualAccount) -> AccountPlan:
        """A fresh plan of account ``slug`` (kept by ``plan(..., keep_desired=True)`` or
        :meth:`load`) from ``actual``: apply's check of a plan under the account's lock and
        after each round of steps."""
        return self.plan_account(self.desired[slug], actual)
