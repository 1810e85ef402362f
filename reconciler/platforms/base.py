"""What each platform package provides to the rest of reconciler.

A platform is one package under ``reconciler/platforms/`` and one :class:`Platform` record
in the registry (``reconciler/platforms/__init__.py``): its catalog (sample prices), its
validation rules, its planner (changes -> ordered steps in the platform's vocabulary), its
bill (the monthly total of a state) and the few facts the rest of reconciler asks about a
platform (which user fields it keeps, which field names a pool licence, what it calls its
products...). No other module keeps a per-platform table: adding a platform is one package
and one registry line. Vocabulary such as "Swap", "Change Package" or "Amend Subscription"
lives in the platform's package only.

The record names its heavier parts (planner, rules, portal) as ``"module:attribute"``
strings, imported the first time they are used: loading the registry costs only the
catalogs, so a command that plans one Mitel account never loads the iPECS planner or any
portal's table readers. The record is still the one place that says what they are.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, cast

from reconciler.catalog import Catalog
from reconciler.errors import InputError
from reconciler.model import ActualAccount, DesiredAccount

if TYPE_CHECKING:
    from reconciler.diff import AccountChanges
    from reconciler.portal.spec import Portal
    from reconciler.sequence import PlanContext, PlatformPlan


class Planner(Protocol):
    """Changes of one account -> the platform's ordered steps (reconciler/planner.py has
    the ordering model). Pure: no I/O; the same input always gives the same plan."""

    def __call__(self, changes: AccountChanges, ctx: PlanContext) -> PlatformPlan: ...


#: fills in what a file may leave out before the rules run (schema already passed)
Completer = Callable[[DesiredAccount, Catalog], "tuple[DesiredAccount, list[InputError]]"]
#: the platform rules over one account file (schema already passed); every error found
Validator = Callable[[DesiredAccount, Catalog], "list[InputError]"]


@cache
def resolve(ref: str) -> Any:
    """``"package.module:attribute"`` -> that object, its module imported on first use."""
    module, _, attribute = ref.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Platform:
    #: the name account files, reconciler.yaml and plans use (``platform: ipecs-cloud``)
    name: str
    #: the vendor's product name, for rendered plans
    label: str
    catalog: Catalog
    #: action -> the platform's wording for it, e.g. {"change_profile": "Swap"}
    words: Mapping[str, str]
    #: ``"module:attribute"`` of the platform rules (:attr:`validate`)
    validate_at: str
    #: monthly total the platform bills for a state, at the catalog's prices
    monthly_bill: Callable[[ActualAccount, Catalog], Decimal]
    #: ``"module:attribute"`` of the :class:`Planner` (:attr:`planner`)
    planner_at: str
    #: DesiredUser fields this platform manages (others are a validation error), in the
    #: order an account file lists them (import writes them so)
    user_fields: tuple[str, ...]
    #: what it calls a product, in messages: "profile type", "package", "SKU"
    product_noun: str
    #: heading of its products in ``reconciler catalog``
    products_heading: str
    #: the user field naming the pool licence a user consumes (iPECS ``profile``: the
    #: package; Call2Teams ``licence``: the SKU); None: no pools (Mitel bills per user)
    pool_field: str | None = None
    #: ``"module:attribute"`` of what fills in what a file may leave out, before
    #: ``validate`` (:attr:`complete`); None: nothing to fill in
    complete_at: str | None = None
    #: the comment import writes after ``licences:``
    licences_comment: str = ""
    #: accounts have a kind (client / internal) that a file states
    account_kinds: bool = False
    #: days a trial product runs before the platform cancels it (None: no trials)
    trial_days: int | None = None
    #: the roles a provider credential may have (empty: the platform has no such notion),
    #: ``providers.<platform>.role`` in reconciler.yaml, the default, and the environment
    #: variable that overrides it; ``role_noun`` names them in messages
    roles: tuple[str, ...] = ()
    role_noun: str = "role"
    default_role: str | None = None
    role_env: str | None = None
    #: the roles that may perform ``role_gated_actions`` (the platform refuses them for
    #: any other role: plan blocks such a step in advance)
    write_roles: tuple[str, ...] = ()
    role_gated_actions: tuple[str, ...] = ()
    #: ``"module:attribute"`` of the portal a person works in: exports read, runbook
    #: wording (kind: portal; :attr:`portal`); None: the platform has no portal support
    portal_at: str | None = None

    @property
    def validate(self) -> Validator:
        """The platform rules over one account file (schema already passed)."""
        return cast(Validator, resolve(self.validate_at))

    @property
    def planner(self) -> Planner:
        return cast(Planner, resolve(self.planner_at))

    @property
    def complete(self) -> Completer | None:
        return None if self.complete_at is None else cast(Completer, resolve(self.complete_at))

    @property
    def portal(self) -> Portal | None:
        return None if self.portal_at is None else cast("Portal", resolve(self.portal_at))
