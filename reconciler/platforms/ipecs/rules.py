"""iPECS Cloud rules for one account file (the schema has already passed).

A user has one package from the account's licence pool and belongs to a site with an
extension range (seed 001: "Min 100 ~ Max 299"). A declared pool count must cover the
users on it.
"""

from __future__ import annotations

from dataclasses import replace

from reconciler.catalog import Catalog
from reconciler.errors import InputError
from reconciler.model import DesiredAccount
from reconciler.platforms.common_rules import (
    check_extensions,
    check_licence_counts,
    check_no_internal_kind,
    check_sites,
    count_needs,
    unknown,
)


def complete(account: DesiredAccount, catalog: Catalog) -> tuple[DesiredAccount, list[InputError]]:
    """Fill in what the file may leave out: a user without ``site`` in an account with
    exactly one site belongs to that site (assumed: the seed's customer has one site, and
    the portal requires a site on every user)."""
    if len(account.sites) != 1 or all(u.site is not None for u in account.users):
        return account, []
    only = account.sites[0].name
    users = tuple(u if u.site is not None else replace(u, site=only) for u in account.users)
    return replace(account, users=users), []


def validate(account: DesiredAccount, catalog: Catalog) -> list[InputError]:
    errors = check_no_internal_kind(account, "iPECS Cloud")
    errors += check_extensions(account) + check_sites(account, site_required=True)
    known_licences = True
    for key in account.licences or {}:
        if key not in catalog.products:
            known_licences = False
            errors.append(
                unknown("package", key, catalog.products, account.where(f"licences.{key}"))
            )
    for user in account.users:
        if user.profile is not None and user.profile not in catalog.products:
            errors.append(unknown("package", user.profile, catalog.products, user.where("profile")))
    if known_licences:
        errors.extend(
            check_licence_counts(account, count_needs(account, "profile", catalog.products))
        )
    return errors
