"""Account files -> the desired model, with every error of every file found in one run.

Order of checks, per file: YAML, then the account schema, then the fields the platform
uses, then the platform's rules (``PLATFORMS[p].validate``); then across files: a slug or an
external id (per platform) used twice. :func:`load_accounts` collects all of them and
raises one :class:`ValidationFailed`.

Marks. ``DesiredAccount.marks`` and ``DesiredUser.marks`` map a field name to where it is
written: a scalar field to its value (``"profile"``, ``"extension"``), a mapping or list
field to its key (``"licences"``, ``"add_ons"``); an entry of a mapping to its key
(``"licences.C2TU25"``, ``"sites.Vertical Demo"``), an add-on to its list item
(``"add_ons.fax"``), a site's range to its value (``"sites.Vertical Demo.extensions"``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from reconciler.catalog import did_you_mean
from reconciler.config import Config
from reconciler.errors import InputError, ValidationFailed
from reconciler.filenames import file_name_error, outside_repository_error, repository_path
from reconciler.model import DesiredAccount, DesiredUser, Mark, Policy, Site, build
from reconciler.platforms import PLATFORMS
from reconciler.schema import check, sorted_errors, with_yaml_errors
from reconciler.yamlload import MarkedDict, MarkedList, load_yaml

__all__ = ["DEFAULT_PATHS", "discover", "load_account", "load_accounts"]

DEFAULT_PATHS = ("accounts",)
_SUFFIXES = (".yaml", ".yml")
#: user fields every platform understands; the rest are per platform (Platform.user_fields)
_UNIVERSAL_FIELDS = frozenset(("extension", "renumbered_from", "absent", "allow_downgrade"))


@dataclass(frozen=True)
class _Source:
    path: Path
    name: str  # as shown in errors, e.g. "accounts/contoso-c2t.yaml"


def discover(paths: Sequence[str] = DEFAULT_PATHS) -> list[Path]:
    """The account files named by ``paths``: a directory gives its ``*.yaml``/``*.yml``
    files (sorted, not recursive); a file is taken as is but must be .yaml/.yml."""
    sources, errors = _discover(paths)
    if errors:
        raise ValidationFailed(errors)
    return [s.path for s in sources]


def load_account(path: str | os.PathLike[str], config: Config | None = None) -> DesiredAccount:
    """One account file -> DesiredAccount (YAML, schema, platform fields; no platform rules
    and no cross-file checks: :func:`load_accounts` does those)."""
    name = os.path.normpath(os.fspath(path))
    account, errors = _read(_Source(Path(path), name), _policy_defaults(config))
    if errors or account is None:
        raise ValidationFailed(errors)
    return account


def load_accounts(
    paths: Sequence[str] = DEFAULT_PATHS,
    config: Config | None = None,
    *,
    only: str | None = None,
) -> list[DesiredAccount]:
    """Every account under ``paths``, validated in full; ``only``: just that slug.

    Raises :class:`ValidationFailed` with all errors of all files (sorted by file and
    position) if any file is invalid, even with ``only``.
    """
    stream = AccountStream(paths, config)
    accounts = list(stream)
    stream.raise_errors()
    if only is not None:
        chosen = [a for a in accounts if a.slug == only]
        if not chosen:
            raise stream.unknown(only)
        return chosen
    return accounts


class AccountStream:
    """The account files under ``paths``, loaded and validated one at a time.

    Iterating yields each account that has no error of its own and clashes with no file
    read before it; every error (per file and across files) collects in :attr:`errors`, so
    a caller can hold one account at a time and still refuse the whole run afterwards with
    :meth:`raise_errors`. Only each file's slug and external id are remembered.
    """

    def __init__(self, paths: Sequence[str] = DEFAULT_PATHS, config: Config | None = None,
                 *, keep_digests: bool = False):
        if not paths:
            from reconciler.project import default_paths

            paths = default_paths()
        self.paths = list(paths)
        self._sources, self.errors = _discover(self.paths)
        self._defaults = _policy_defaults(config)
        self._slugs: dict[str, Mark] = {}
        self._ids: dict[tuple[str, str], tuple[str, Mark]] = {}
        #: with ``keep_digests``, the sha256 of the bytes each yielded account was read
        #: from, by its path, until taken (:meth:`digest`): a plan's sources without
        #: reading the file again
        self._digests: dict[str, str] | None = {} if keep_digests else None

    def digest(self, path: str) -> str | None:
        """The digest of the file ``path`` (an account's) was read from; forgotten once taken."""
        return self._digests.pop(path, None) if self._digests is not None else None

    def __iter__(self) -> Iterator[DesiredAccount]:
        for source in self._sources:
            account, errors = _read(source, self._defaults, self._digests)
            if account is None:
                self.digest(source.name)
                self.errors.extend(errors)
                continue
            platform = PLATFORMS[account.platform]
            if platform.complete is not None:
                account, more = platform.complete(account, platform.catalog)
                errors.extend(more)
            errors.extend(platform.validate(account, platform.catalog))
            errors.extend(self._cross_file(account))
            self.errors.extend(errors)
            if not errors:
                yield account
            else:
                self.digest(source.name)

    @property
    def slugs(self) -> list[str]:
        return list(self._slugs)

    def raise_errors(self) -> None:
        if self.errors:
            raise ValidationFailed(sorted_errors(self.errors))

    def unknown(self, slug: str) -> InputError:
        hint = did_you_mean(slug, self._slugs)
        return InputError(f'no account "{slug}" in {", ".join(self.paths)}{hint}')

    def _cross_file(self, account: DesiredAccount) -> list[InputError]:
        """A slug is unique in the repository, an external id unique per platform
        (assumed: two platforms may number their accounts alike)."""
        errors: list[InputError] = []
        here = account.where("account")
        first = self._slugs.setdefault(account.slug, here)
        if first != here:
            errors.append(
                InputError(
                    f'account "{account.slug}" is already defined in {first}; '
                    "slugs must be unique, rename one of them",
                    here,
                )
            )
        here = account.where("external_id")
        key = (account.platform, account.external_id)
        slug, mark = self._ids.setdefault(key, (account.slug, here))
        if mark != here:
            errors.append(
                InputError(
                    f'external_id "{account.external_id}" is already used by account '
                    f'"{slug}" in {mark}; each platform account has exactly one file',
                    here,
                )
            )
        return errors


# --------------------------------------------------------------------------- files


def _discover(paths: Sequence[str]) -> tuple[list[_Source], list[InputError]]:
    sources: list[_Source] = []
    errors: list[InputError] = []
    seen: set[Path] = set()
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            named = sorted(p for p in path.iterdir() if p.suffix.lower() in _SUFFIXES)
            found, broken = [], []
            for p in named:
                name = os.path.normpath(os.path.join(arg, p.name))
                refused = file_name_error(repository_path(p), name)
                if refused is not None:
                    broken.append(refused)
                elif _broken_link(p):
                    # skipping it would silently drop an account from the plan
                    broken.append(_broken_link_error(p, name))
                elif p.is_file():
                    found.append((p, name))
            errors.extend(broken)
            if not found and not broken:
                errors.append(
                    InputError("no account files (*.yaml, *.yml) in this directory", file=arg)
                )
            candidates = found
        elif (refused := file_name_error(repository_path(path), os.path.normpath(arg))):
            errors.append(refused)
            continue
        elif _broken_link(path):
            errors.append(_broken_link_error(path, os.path.normpath(arg)))
            continue
        elif path.exists():
            if path.suffix.lower() not in _SUFFIXES:
                # the whole file is wrong; 1:1 keeps the line file:line:col like every other
                message = "not an account file: account files end in .yaml or .yml"
                errors.append(InputError(message, Mark(os.path.normpath(arg), 1, 1)))
                continue
            candidates = [(path, os.path.normpath(arg))]
        else:
            errors.append(InputError("no such file or directory", file=arg))
            continue
        for p, name in candidates:
            outside = outside_repository_error(p, name)
            if outside is not None:  # never read: its lines would be echoed in errors
                errors.append(outside)
                continue
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                sources.append(_Source(p, name))
    return sources, errors


def _broken_link(path: Path) -> bool:
    return path.is_symlink() and not path.exists()


def _broken_link_error(path: Path, name: str) -> InputError:
    target = os.readlink(path)
    return InputError(
        f"broken symbolic link (its target {target} does not exist); fix or remove it",
        file=name,
    )


def _read(
    source: _Source, defaults: Mapping[str, Any], digests: dict[str, str] | None = None
) -> tuple[DesiredAccount | None, list[InputError]]:
    soft: list[InputError] = []  # YAML-level errors after which the file is still read
    try:
        doc = load_yaml(source.path, display_name=source.name, soft_errors=soft,
                        digests=digests)
    except InputError as e:
        return None, with_yaml_errors(soft, [e])
    errors = with_yaml_errors(soft, check(doc, "account"))
    if errors:
        return None, errors
    return _build(doc, source.name, defaults)


def _policy_defaults(config: Config | None) -> Mapping[str, Any]:
    return config.policy if config is not None else {}


# --------------------------------------------------------------------------- model


def _build(
    doc: MarkedDict, name: str, defaults: Mapping[str, Any]
) -> tuple[DesiredAccount | None, list[InputError]]:
    """A schema-valid document -> DesiredAccount, plus errors the schema cannot see."""
    errors: list[InputError] = []
    platform = PLATFORMS[doc["platform"]]
    marks = _field_marks(doc)
    sites: list[Site] = []
    for site_name, spec in (doc.get("sites") or {}).items():
        marks[f"sites.{site_name}"] = doc["sites"].key_marks[site_name]
        where = spec.value_marks["extensions"]
        marks[f"sites.{site_name}.extensions"] = where
        first, last = (int(x) for x in spec["extensions"].split("-"))
        if first > last:
            errors.append(
                InputError(
                    f'extensions "{spec["extensions"]}": the first extension is above the last; '
                    f'write it as "{last}-{first}"',
                    where,
                )
            )
            first, last = last, first  # reported once; the rules check users against it
        # a user's extension must say which site it is on: ranges may not share one
        other = next((s for s in sites if s.first <= last and first <= s.last), None)
        if other is not None:
            errors.append(
                InputError(
                    f'extensions {first}-{last} of site "{site_name}" overlap site '
                    f'"{other.name}" ({other.first}-{other.last}); each extension belongs to '
                    "one site",
                    where,
                )
            )
        sites.append(Site(str(site_name), first, last))
    licences = None
    if "licences" in doc:
        licences = {str(k): v for k, v in doc["licences"].items()}
        for k in doc["licences"]:
            marks[f"licences.{k}"] = doc["licences"].key_marks[k]
    users: list[DesiredUser] = []
    items: MarkedList = doc.get("users") or MarkedList()
    allowed = _UNIVERSAL_FIELDS | frozenset(platform.user_fields)
    for item, item_mark in zip(items, items.item_marks, strict=True):
        user, user_errors = _user(item, item_mark, allowed, platform.user_fields,
                                  platform.label)
        users.append(user)
        errors.extend(user_errors)
    own_policy = doc.get("policy") or {}
    policy = Policy(**_policy_fields({**defaults, **own_policy}))
    account = DesiredAccount(
        slug=doc["account"],
        platform=doc["platform"],
        external_id=doc["external_id"],
        path=name,
        mark=doc.mark or Mark(name, 1, 1),
        name=doc.get("name"),
        kind=doc.get("kind", "client"),
        policy=policy,
        sites=tuple(sites),
        licences=licences,
        users=tuple(users),
        marks=marks,
        markup=_markup(doc.get("pricing") or {}),
    )
    return account, errors


def _markup(pricing: Mapping[str, Any]) -> Decimal | None:
    value = pricing.get("markup")
    return None if value is None else Decimal(str(value))


def _user(
    item: MarkedDict, item_mark: Mark, allowed: frozenset[str], fields: tuple[str, ...],
    label: str,
) -> tuple[DesiredUser, list[InputError]]:
    """``allowed``: the universal fields and the platform's ``fields``."""
    errors: list[InputError] = []
    marks = _field_marks(item)
    values: dict[str, Any] = {}
    for key, value in item.items():
        if key in allowed:
            values[key] = value
            continue
        takes = ", ".join(fields)
        errors.append(
            InputError(
                f'field "{key}" is not used on {label} users; remove it '
                f"(their platform fields: {takes})",
                item.key_marks[key],
            )
        )
    add_ons = values.get("add_ons")
    if add_ons is not None:
        for a, m in zip(add_ons, add_ons.item_marks, strict=True):
            marks[f"add_ons.{a}"] = m
        values["add_ons"] = frozenset(add_ons)
    values["mark"], values["marks"] = item_mark, marks
    return build(DesiredUser, values), errors


def _field_marks(node: MarkedDict) -> dict[str, Mark]:
    keys, values = node.key_marks, node.value_marks
    return {
        k if k.__class__ is str else str(k): keys[k] if isinstance(v, (dict, list)) else values[k]
        for k, v in node.items()
    }


def _policy_fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(raw)
    limit = out.get("max_monthly_increase")
    if limit is not None and not isinstance(limit, Decimal):
        out["max_monthly_increase"] = Decimal(str(limit))
    return out
