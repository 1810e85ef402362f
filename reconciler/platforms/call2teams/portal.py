"""Call2Teams as a person sees it: the partner portal (seed 002).

Exports read from ``DIR/<external_id>/``:

* ``users`` — PBX users in the columns of Call2Teams' bulk import: SIPUsername, Name,
  Email, PhoneNumber, AuthUsername, ExternalId. (assumed) SIPUsername is the extension,
  ExternalId the user's id, and an extra "Subscription" column names the SKU whose
  licence the user holds; without it, the account's only PBX (or internal) subscription.
* ``trunks`` (optional) — trunk users in the trunk bulk-import columns: TrunkNumber,
  Name, Email, Caller ID, ExternalId (and "Subscription", assumed); TrunkNumber is the
  extension (assumed).
* ``subscriptions`` — the account's Subscriptions section: SKU, Quantity, Trial End;
  (assumed) also Start Date and Status (Active / Cancelled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from reconciler.catalog import Catalog
from reconciler.model import ActualAccount, ActualUser, Licence
from reconciler.platforms.call2teams import runbook
from reconciler.platforms.call2teams.catalog import PLATFORM, TRIAL_DAYS
from reconciler.portal.spec import Portal, ReadContext, lookup, unique_extensions
from reconciler.portal.table import Column, Row, Sheet

#: (assumed) the most rows Call2Teams' bulk import takes in one file
IMPORT_BATCH = 50

USERS = Sheet("users", "Call2Teams PBX users (bulk import columns)", (
    Column("extension", ("SIPUsername",), type="int"),
    Column("name", ("Name",)),
    Column("email", ("Email",), required=False),
    Column("phone", ("PhoneNumber",), required=False),
    Column("auth", ("AuthUsername",), required=False),
    Column("user_id", ("ExternalId",), required=False),
    Column("licence", ("Subscription",), required=False),
))

TRUNKS = Sheet("trunks", "Call2Teams trunk users (bulk import columns)", (
    Column("extension", ("TrunkNumber",), type="int"),
    Column("name", ("Name",)),
    Column("email", ("Email",), required=False),
    Column("caller_id", ("Caller ID",), required=False),
    Column("user_id", ("ExternalId",), required=False),
    Column("licence", ("Subscription",), required=False),
), required=False)

SUBSCRIPTIONS = Sheet("subscriptions", "Call2Teams subscriptions (the account's "
                      "Subscriptions section)", (
    Column("sku", ("SKU", "Offer")),
    Column("quantity", ("Quantity", "Qty"), type="int"),
    Column("started_on", ("Start Date",), required=False, type="date"),
    Column("trial_end", ("Trial End",), required=False, type="date"),
    Column("status", ("Status",), required=False),
))

#: the vendor's bulk import files: its own columns only (the runbook names the subscription)
PBX_IMPORT = Sheet("import-users", "Call2Teams PBX users bulk import",
                   tuple(c for c in USERS.columns if c.key != "licence"))
TRUNK_IMPORT = Sheet("import-trunks", "Call2Teams trunk users bulk import",
                     tuple(c for c in TRUNKS.columns if c.key != "licence"))

STATUS = {"Active": "active", "Cancelled": "cancelled", "Canceled": "cancelled",
          "Expired": "cancelled"}


def _subscriptions(ctx: ReadContext) -> list[Licence]:
    skus = {key: key for key in ctx.catalog.products}
    seen: dict[str, Row] = {}
    licences = []
    for row in ctx.tables["subscriptions"]:
        sku = lookup(row, "sku", "SKU", skus)
        if sku in seen:
            raise row.error(f"subscription {sku} appears twice (first on line "
                            f"{seen[sku].line})")
        seen[sku] = row
        product = ctx.catalog.products[sku]
        started = row["started_on"]
        if started is None and product.trial and row["trial_end"] is not None:
            started = row["trial_end"] - timedelta(days=TRIAL_DAYS)
        active = row["status"] is None or lookup(row, "status", "Status", STATUS) == "active"
        if product.trial and started is not None:
            active = active and ctx.today < started + timedelta(days=TRIAL_DAYS)
        if row["quantity"]:
            licences.append(Licence(sku, row["quantity"], started, active))
    return sorted(licences, key=lambda lic: lic.key)


def _users(ctx: ReadContext, rows: Sequence[Row], licences: list[Licence],
           kinds: tuple[str, ...]) -> list[ActualUser]:
    skus = {key: key for key in ctx.catalog.products}
    held = [lic.key for lic in licences
            if ctx.catalog.products[lic.key].user_kind in kinds]
    users = []
    for row in rows:
        if row["licence"] is not None:
            sku = lookup(row, "licence", "Subscription", skus)
        elif len(held) == 1:
            sku = held[0]
        else:
            raise row.error("Subscription: which subscription's licence does this user hold? "
                            f"the account has {len(held)} for these users ({', '.join(held)})")
        kind = ctx.catalog.products[sku].user_kind or ""
        if kind not in kinds:
            raise row.error(f"Subscription {sku} is for {kind} users, not these")
        users.append(ActualUser(
            extension=row["extension"],
            user_id=row["user_id"] or f"ext-{row['extension']}",
            name=row["name"],
            profile=kind,
            email=row["email"],
            licence=sku,
            active=all(lic.active for lic in licences if lic.key == sku),
        ))
    return users


def read(ctx: ReadContext) -> ActualAccount:
    licences = _subscriptions(ctx)
    pbx, trunks = ctx.tables["users"], ctx.tables.get("trunks", ())
    unique_extensions([*pbx, *trunks])
    users = (_users(ctx, pbx, licences, ("pbx", "internal"))
             + _users(ctx, trunks, licences, ("trunk",)))
    internal = any(ctx.catalog.products[lic.key].internal for lic in licences)
    return ActualAccount(
        platform=PLATFORM,
        external_id=ctx.external_id,
        name="",  # the exports do not name the account
        # (assumed) an account holding Internal-User subscriptions is the partner's own
        kind="internal" if internal else "client",
        today=ctx.today,
        users=tuple(sorted(users, key=lambda u: u.extension)),
        licences=tuple(licences),
    )


def export(actual: ActualAccount, catalog: Catalog) -> Mapping[str, list[dict[str, Any]]]:
    def row(u: ActualUser) -> dict[str, Any]:
        return {"extension": u.extension, "name": u.name, "email": u.email,
                "user_id": u.user_id, "licence": u.licence}

    subs = []
    for lic in actual.licences:
        trial = catalog.products[lic.key].trial and lic.started_on is not None
        subs.append({
            "sku": lic.key, "quantity": lic.quantity, "started_on": lic.started_on,
            "trial_end": lic.started_on + timedelta(days=TRIAL_DAYS)
            if trial and lic.started_on else None,
            "status": "Active" if lic.active else "Cancelled",
        })
    return {
        "users": [row(u) for u in actual.users if u.profile != "trunk"],
        "trunks": [row(u) for u in actual.users if u.profile == "trunk"],
        "subscriptions": subs,
    }


PORTAL = Portal(sheets=(USERS, TRUNKS, SUBSCRIPTIONS), read=read, export=export,
                name="Call2Teams partner portal",
                imports={"pbx": PBX_IMPORT, "internal": PBX_IMPORT, "trunk": TRUNK_IMPORT},
                import_batch=IMPORT_BATCH,
                instructions=runbook.instructions)
