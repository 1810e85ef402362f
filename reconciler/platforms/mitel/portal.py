"""Mitel Connect CLOUD as a person sees it: the Connect Portal (seed 000).

Export read from ``DIR/<external_id>/``:

* ``users`` — the users list (Phone System > Users). (assumed) Its columns are not
  public: Name, Extension, Email, Profile Type (the seed's names, "Essentials CLOUD", or
  our keys), Add-Ons (names separated by ";" or ","), and optionally Site and User ID.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.catalog import Catalog
from reconciler.model import ActualAccount, ActualUser
from reconciler.platforms.mitel import runbook
from reconciler.platforms.mitel.catalog import PLATFORM
from reconciler.portal.spec import Portal, ReadContext, lookup, match, split_list, unique_extensions
from reconciler.portal.table import Column, Sheet

USERS = Sheet("users", "Connect Portal users list (Phone System > Users)", (
    Column("name", ("Name",)),
    Column("extension", ("Extension",), type="int"),
    Column("email", ("Email", "E-mail"), required=False),
    Column("profile", ("Profile Type", "Product Type")),
    Column("add_ons", ("Add-Ons", "Add-On Features"), required=False),
    Column("site", ("Site",), required=False),
    Column("user_id", ("User ID",), required=False),
))


def _profiles(catalog: Catalog) -> dict[str, str]:
    words = {p.display: p.key for p in catalog.products.values()}
    return {**words, **{key: key for key in catalog.products}}


def _add_ons(catalog: Catalog) -> dict[str, str]:
    words = {a.display: a.key for a in catalog.add_ons.values()}
    return {**words, **{key: key for key in catalog.add_ons}}


def read(ctx: ReadContext) -> ActualAccount:
    rows = ctx.tables["users"]
    unique_extensions(rows)
    profiles, add_ons = _profiles(ctx.catalog), _add_ons(ctx.catalog)
    users = []
    for row in rows:
        picked = {match(row, "Add-Ons", word, add_ons) for word in split_list(row["add_ons"])}
        users.append(ActualUser(
            extension=row["extension"],
            user_id=row["user_id"] or f"ext-{row['extension']}",
            name=row["name"],
            profile=lookup(row, "profile", "Profile Type", profiles),
            email=row["email"],
            site=row["site"],
            add_ons=frozenset(picked),
        ))
    return ActualAccount(platform=PLATFORM, external_id=ctx.external_id,
                         name="", today=ctx.today,  # the export does not name it
                         users=tuple(sorted(users, key=lambda u: u.extension)))


def export(actual: ActualAccount, catalog: Catalog) -> Mapping[str, list[dict[str, Any]]]:
    return {"users": [
        {"name": u.name, "extension": u.extension, "email": u.email,
         "profile": catalog.products[u.profile].display,
         "add_ons": "; ".join(catalog.add_ons[a].display for a in sorted(u.add_ons)),
         "site": u.site, "user_id": u.user_id}
        for u in actual.users
    ]}


PORTAL = Portal(sheets=(USERS,), read=read, export=export, name="Mitel Connect Portal",
                instructions=runbook.instructions)
