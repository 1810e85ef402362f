"""Rules every platform shares, called from each platform's ``rules.validate``.

All functions take a schema-checked :class:`DesiredAccount` and return a list of
:class:`InputError` located at the offending field (``user.where("profile")``); none
raises. Each is O(users).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping

from reconciler.catalog import did_you_mean
from reconciler.errors import InputError
from reconciler.model import DesiredAccount, Mark


def unknown(
    what: str, value: str, choices: Iterable[str], mark: Mark, extra: str = ""
) -> InputError:
    """``unknown package "X" (did you mean "Y"?)``, or the list of choices if none is near."""
    pool = list(choices)
    hint = did_you_mean(value, pool)
    if not hint and pool:
        hint = f"; expected one of: {', '.join(pool)}" if len(pool) <= 12 else ""
    return InputError(f'unknown {what} "{value}"{hint}{extra}', mark)


def check_no_internal_kind(account: DesiredAccount, label: str) -> list[InputError]:
    """``kind: internal`` is a Call2Teams notion (the partner's own account, which may use
    internal-use SKUs); on another platform it would be silently meaningless. ``kind:
    client``, the default everywhere, is left alone."""
    if account.kind != "internal":
        return []
    return [
        InputError(
            "kind: internal is a Call2Teams account kind (the partner's own account); "
            f"{label} accounts have no kind: remove it",
            account.where("kind"),
        )
    ]


def check_extensions(account: DesiredAccount) -> list[InputError]:
    """Extensions are unique in the account; ``renumbered_from`` names no extension that
    another user entry still has, nor one another user is renumbered from."""
    errors: list[InputError] = []
    lines: dict[int, int] = {}  # extension -> line of the first user entry with it
    for user in account.users:
        if user.extension in lines:
            errors.append(
                InputError(
                    f"extension {user.extension} is already used by the user at line "
                    f"{lines[user.extension]}; extensions must be unique in an account",
                    user.where("extension"),
                )
            )
        else:
            lines[user.extension] = user.mark.line
    claimed: dict[int, int] = {}
    for user in account.users:
        old = user.renumbered_from
        if old is None:
            continue
        where = user.where("renumbered_from")
        if old == user.extension:
            errors.append(
                InputError(f"renumbered_from {old} is the user's own extension; remove it", where)
            )
        elif old in lines:
            errors.append(
                InputError(
                    f"renumbered_from {old}: extension {old} still belongs to the user at line "
                    f"{lines[old]}; renumber or remove that user first, or drop renumbered_from",
                    where,
                )
            )
        elif old in claimed:
            errors.append(
                InputError(
                    f"renumbered_from {old} is also claimed by the user at line {claimed[old]}; "
                    "only one user can have had that extension",
                    where,
                )
            )
        else:
            claimed[old] = user.mark.line
    return errors


def check_sites(account: DesiredAccount, *, site_required: bool = False) -> list[InputError]:
    """A user's site is declared under ``sites``, its extension inside the site's range;
    with ``site_required`` every present user names a site (the loader already filled in
    the only site of a one-site account)."""
    errors: list[InputError] = []
    sites = {site.name: site for site in account.sites}
    for user in account.users:
        if user.site is None:
            if site_required and not user.absent:
                errors.append(_site_needed(account, user.mark))
            continue
        site = sites.get(user.site)
        if site is None:
            hint = did_you_mean(user.site, sites)
            if not hint:
                hint = (
                    f"; declared: {', '.join(sites)}"
                    if sites
                    else '; declare it with its range, e.g. sites: {Main: {extensions: "100-299"}}'
                )
            message = f'site "{user.site}" is not declared under sites{hint}'
            errors.append(InputError(message, user.where("site")))
            continue
        if not user.absent and not site.contains(user.extension):
            errors.append(
                InputError(
                    f'extension {user.extension} is outside site "{site.name}" '
                    f"({site.first}-{site.last}); use an extension in that range",
                    user.where("extension"),
                )
            )
    return errors


def _site_needed(account: DesiredAccount, mark: Mark) -> InputError:
    if not account.sites:
        return InputError(
            "site: which site? declare the account's sites (e.g. sites: {Main: {extensions: "
            '"100-299"}}) and set site: on the user',
            mark,
        )
    names = ", ".join(s.name for s in account.sites)
    return InputError(
        f"site: which site? the account has several ({names}); set site: on the user", mark
    )


def check_licence_counts(account: DesiredAccount, needs: Mapping[str, int]) -> list[InputError]:
    """A declared ``licences`` mapping is the whole pool (as the diff reads it): each
    package or SKU the present users are on is listed, with at least their number
    (``needs``: licence key -> users on it)."""
    if account.licences is None:
        return []
    errors: list[InputError] = []
    for key, count in account.licences.items():
        need = needs.get(key, 0)
        if count < need:
            errors.append(
                InputError(
                    f"licences: {key}: {count} is fewer than the {_users(need)} on it; "
                    f"declare at least {need} or move users off it",
                    account.where(f"licences.{key}"),
                )
            )
    for key, need in sorted(needs.items()):
        if key not in account.licences:
            errors.append(
                InputError(
                    f"licences: {key} is not listed, but {_users(need)} "
                    f'{"is" if need == 1 else "are"} on it; add "{key}: {need}" '
                    "(a declared licences mapping is the whole pool)",
                    account.where("licences"),
                )
            )
    return errors


def _users(n: int) -> str:
    return f"{n} user" if n == 1 else f"{n} users"


def count_needs(account: DesiredAccount, field: str, known: Container[str]) -> dict[str, int]:
    """Present users per value of ``field`` ("profile" on iPECS, "licence" on Call2Teams);
    values not in ``known`` are left out (they are reported as unknown already)."""
    needs: dict[str, int] = {}
    for user in account.users:
        key = getattr(user, field)
        if key is not None and key in known and not user.absent:
            needs[key] = needs.get(key, 0) + 1
    return needs
