"""Call2Teams rules for one account file (the schema has already passed).

A user is a ``pbx``, ``trunk`` or ``internal`` user (its ``profile``) and uses one licence of
a subscription (its ``licence`` SKU) that serves that kind. C2TU-I internal-use SKUs and
internal users belong only on the partner's own account (seed 002).
"""

from __future__ import annotations

from dataclasses import replace

from reconciler.catalog import Catalog, did_you_mean
from reconciler.errors import InputError
from reconciler.model import DesiredAccount, DesiredUser, Mark
from reconciler.platforms.call2teams.catalog import USER_KINDS
from reconciler.platforms.call2teams.tiers import below_threshold
from reconciler.platforms.common_rules import (
    check_extensions,
    check_licence_counts,
    count_needs,
    unknown,
)

#: The SKU family serving each user kind (seed 002).
SKU_FAMILY = {"pbx": "C2TU", "trunk": "T2TU", "internal": "C2TU-I"}


def complete(account: DesiredAccount, catalog: Catalog) -> tuple[DesiredAccount, list[InputError]]:
    """Fill in a user's subscription from the file where it is unambiguous (assumed: our
    convenience; the platform itself always asks which subscription).

    * ``licence`` left out: the account's only declared non-trial SKU of the user's kind.
    * ``profile`` left out but ``licence`` given: the kind that SKU serves.
    """
    errors: list[InputError] = []
    declared: dict[str, list[str]] = {}
    for key in account.licences or {}:
        product = catalog.product(key)
        if product is not None and not product.trial and product.user_kind:
            declared.setdefault(product.user_kind, []).append(key)
    users: list[DesiredUser] = []
    changed = False
    for user in account.users:
        # an internal user on a client account is refused by validate(); no SKU to guess
        misplaced = user.profile == "internal" and account.kind != "internal"
        if user.licence is None and user.profile in USER_KINDS and not (user.absent or misplaced):
            options = declared.get(user.profile, [])
            if len(options) == 1:
                user = replace(user, licence=options[0])
                changed = True
            else:
                errors.append(
                    InputError(
                        f"licence: which subscription? declare licences with one SKU for "
                        f"{user.profile} users or set licence: on the user",
                        user.mark,
                    )
                )
        elif user.profile is None and user.licence is not None:
            product = catalog.product(user.licence)
            if product is not None and product.user_kind:
                user = replace(user, profile=product.user_kind)
                changed = True
        users.append(user)
    if changed:
        account = replace(account, users=tuple(users))
    return account, errors


def validate(account: DesiredAccount, catalog: Catalog) -> list[InputError]:
    errors = check_extensions(account)
    client = account.kind != "internal"
    known_licences = True
    for key in account.licences or {}:
        where = account.where(f"licences.{key}")
        product = catalog.product(key)
        if product is None:
            known_licences = False
            errors.append(unknown("SKU", key, catalog.products, where))
        elif product.internal and client:
            errors.append(_internal_sku(key, where))
    for user in account.users:
        errors.extend(_check_user(user, catalog, client))
    if known_licences:
        needs = count_needs(account, "licence", catalog.products)
        errors.extend(check_licence_counts(account, needs))
        errors.extend(_check_tiers(account, catalog, needs))
    return errors


def _check_tiers(account: DesiredAccount, catalog: Catalog,
                 needs: dict[str, int]) -> list[InputError]:
    """Each subscription's quantity reaches its SKU's tier threshold: the declared count,
    or (licences left out) the number of users on it, reported at the first of them."""
    errors: list[InputError] = []
    if account.licences is not None:
        for key, count in account.licences.items():
            problem = below_threshold(catalog, key, count)
            if problem:
                errors.append(InputError(f"licences: {problem}",
                                         account.where(f"licences.{key}")))
        return errors
    for key, need in sorted(needs.items()):
        problem = below_threshold(catalog, key, need)
        first = next(u for u in account.users if u.licence == key and not u.absent)
        if problem:
            errors.append(InputError(f"licence: {problem}", first.where("licence")))
    return errors


def _check_user(user: DesiredUser, catalog: Catalog, client: bool) -> list[InputError]:
    """At most one error per user: the first thing that is wrong with its kind or SKU."""
    if user.profile is not None and user.profile not in USER_KINDS:
        hint = did_you_mean(user.profile, USER_KINDS)
        message = (
            f'profile "{user.profile}" is not a Call2Teams user kind{hint}; '
            "use pbx, trunk or internal"
        )
        return [InputError(message, user.where("profile"))]
    if user.profile == "internal" and client:
        return [
            InputError(
                f"user {user.extension} is an internal user: internal users belong only on the "
                "partner's own account (kind: internal), never a client account; use pbx or "
                "trunk",
                user.where("profile"),
            )
        ]
    if user.licence is None:
        return []
    where = user.where("licence")
    product = catalog.product(user.licence)
    if product is None:
        return [unknown("SKU", user.licence, catalog.products, where)]
    if product.internal and client:
        return [_internal_sku(user.licence, where)]
    if user.profile is not None and product.user_kind != user.profile:
        family = SKU_FAMILY[user.profile]
        return [
            InputError(
                f"licence {user.licence} is for {product.user_kind} users, but user "
                f"{user.extension} is a {user.profile} user; use a {family} SKU",
                where,
            )
        ]
    return []


def _internal_sku(key: str, where: Mark) -> InputError:
    return InputError(
        f"{key} is an internal-use SKU, only for the partner's own account (kind: internal), "
        "never a client account",
        where,
    )
