"""What each platform package provides to the rest of reconciler.

A platform is one package under ``reconciler/platforms/``: its catalog (sample prices), its
validation rules, its planner (changes -> ordered steps in the platform's vocabulary) and
its bill (the monthly total of a state). Vocabulary such as "Swap", "Change Package" or
"Amend Subscription" lives in the platform's package only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from reconciler.catalog import Catalog
from reconciler.errors import InputError
from reconciler.model import ActualAccount, DesiredAccount


@dataclass(frozen=True)
class Platform:
    name: str
    #: the vendor's product name, for rendered plans
    label: str
    catalog: Catalog
    #: action -> the platform's wording for it, e.g. {"change_profile": "Swap"}
    words: Mapping[str, str]
    #: platform rules over one account file (schema already passed); every error found
    validate: Callable[[DesiredAccount, Catalog], list[InputError]]
    #: monthly total the platform bills for a state, at the catalog's prices
    monthly_bill: Callable[[ActualAccount, Catalog], Decimal]
    #: the planner: see reconciler/planner.py for the contract
    plan: Callable[..., Any] | None = None
    #: DesiredUser fields this platform manages (others are a validation error)
    user_fields: frozenset[str] = field(default_factory=frozenset)
