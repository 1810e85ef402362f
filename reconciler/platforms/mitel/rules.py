"""Mitel Connect CLOUD rules for one account file (the schema has already passed).

A user has one profile type and add-ons; an add-on must be available on the user's profile
type and have the add-ons it requires. There is no licence pool: each profile is billed per
user, so ``licences`` is refused.
"""

from __future__ import annotations

from reconciler.catalog import Catalog
from reconciler.errors import InputError
from reconciler.model import DesiredAccount, DesiredUser
from reconciler.platforms.common_rules import (
    check_extensions,
    check_no_internal_kind,
    check_sites,
    unknown,
)


def validate(account: DesiredAccount, catalog: Catalog) -> list[InputError]:
    errors = check_no_internal_kind(account, "Mitel Connect CLOUD")
    errors += check_extensions(account) + check_sites(account)
    # (assumed) Connect CLOUD bills each profile per user; the seed shows no licence pool
    if account.licences is not None:
        errors.append(
            InputError(
                "licences are not used on Mitel Connect CLOUD: each user's profile type is "
                "billed per user; remove licences and set profile: on the users",
                account.where("licences"),
            )
        )
    for user in account.users:
        errors.extend(_check_user(user, catalog))
    return errors


def _check_user(user: DesiredUser, catalog: Catalog) -> list[InputError]:
    errors: list[InputError] = []
    profile = None
    if user.profile is not None:
        profile = catalog.product(user.profile)
        if profile is None:
            errors.append(
                unknown("profile type", user.profile, catalog.products, user.where("profile"))
            )
    for key in sorted(user.add_ons or ()):
        where = user.where(f"add_ons.{key}")
        add_on = catalog.add_ons.get(key)
        if add_on is None:
            errors.append(unknown("add-on", key, catalog.add_ons, where))
            continue
        if profile is not None and key not in profile.add_ons:
            errors.append(
                InputError(
                    f'add-on "{key}" is not available on {profile.display} ({profile.key}); '
                    f"{_needs(key, catalog)}",
                    where,
                )
            )
            continue
        for required in sorted(add_on.requires - (user.add_ons or frozenset())):
            errors.append(
                InputError(
                    f'add-on "{key}" needs "{required}" on the same user; add {required} to '
                    "add_ons",
                    where,
                )
            )
    return errors


def _needs(add_on: str, catalog: Catalog) -> str:
    """'it needs telephony or higher' / 'it needs advanced' / 'it is available on a, b'."""
    ladder = catalog.by_rank()
    allowed = [p for p in ladder if add_on in p.add_ons]
    if not allowed:
        return "it is not available on any profile type"
    lowest = allowed[0]
    if allowed == [p for p in ladder if p.rank >= lowest.rank]:
        if lowest is ladder[-1]:
            return f"it needs {lowest.key}"
        return f"it needs {lowest.key} or higher"
    return "it is available on " + ", ".join(p.key for p in allowed)
