"""PLACEHOLDER: platform validation rules (being written)."""

from __future__ import annotations

from reconciler.catalog import Catalog
from reconciler.errors import InputError
from reconciler.model import DesiredAccount


def validate(account: DesiredAccount, catalog: Catalog) -> list[InputError]:
    return []
