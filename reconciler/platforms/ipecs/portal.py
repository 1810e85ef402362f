"""iPECS Cloud as a person sees it: the Customer Manager and the Reseller Portal.

Exports read from ``DIR/<external_id>/`` (seed 001 unless marked):

* ``users`` — the Customer Manager user list (User > User Setup, List Download). The
  seed's table columns: Site, Extension, Name, Package, Direct Dial Call Number, Call
  Barring, Device, Update Time. (assumed) The download also carries the user form's
  E-mail, Outgoing Caller ID and Call Fraud Limit, plus "User ID" and "Extension Range"
  (the site's "Rule Number, Min 100 ~ Max 299"); without a range a site has the seed's
  100-299.
* ``orders`` (optional) — the Reseller Portal order list (Order Management > Order
  Status, Excel), (assumed) one row per order item: Order No, Order Date, Order Type,
  Order Status, Order Item, Qty; rows of other customers (Customer ID) are skipped.
* ``licences`` — the customer's licence items (Customers > Modify Existing Customer >
  Change Order, Order Items): Item Group, Order Item, Now (EA), Order(+/-), To Be (EA).
  Only "Now (EA)" is the pool; items outside the User License group are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reconciler.catalog import Catalog
from reconciler.model import ActualAccount, ActualUser, ChangeOrder, Licence, Site
from reconciler.platforms.ipecs import runbook
from reconciler.platforms.ipecs.catalog import DEFAULT_EXTENSIONS, PLATFORM
from reconciler.portal.spec import Portal, ReadContext, lookup, match, unique_extensions
from reconciler.portal.table import Column, Row, Sheet

USERS = Sheet("users", "Customer Manager user list (User > User Setup, List Download)", (
    Column("site", ("Site",)),
    Column("extension", ("Extension",), type="int"),
    Column("name", ("Name",)),
    Column("package", ("Package",)),
    Column("ddi", ("Direct Dial Call Number",), required=False),
    Column("call_barring", ("Call Barring",), required=False),
    Column("device", ("Device",), required=False),
    Column("update_time", ("Update Time",), required=False),
    # (assumed) the user form's fields, not columns of the seed's table
    Column("email", ("E-mail", "Email"), required=False),
    Column("caller_id", ("Outgoing Caller ID",), required=False),
    Column("fraud_limit", ("Call Fraud Limit",), required=False),
    Column("user_id", ("User ID",), required=False),
    Column("range", ("Extension Range", "Rule Number"), required=False),
), suffix=".xlsx")

ORDERS = Sheet("orders", "Reseller Portal order list (Order Management > Order Status, Excel)", (
    Column("order_no", ("Order No", "Order No."), type="int"),
    Column("order_date", ("Order Date",), type="date"),
    Column("order_type", ("Order Type",), required=False),
    Column("status", ("Order Status",)),
    Column("item", ("Order Item",)),
    Column("qty", ("Qty", "Qty."), type="signed"),
    Column("customer", ("Customer ID",), required=False),
), required=False, suffix=".xlsx")

LICENCES = Sheet("licences", "licence items (Reseller Portal > Customers > Change Order, "
                 "Order Items)", (
    Column("group", ("Item Group",), required=False),
    Column("item", ("Order Item",)),
    Column("now", ("Now (EA)", "Now"), type="int"),
    Column("order", ("Order(+/-)",), required=False, type="signed"),
    Column("to_be", ("To Be (EA)", "To Be"), required=False, type="int"),
), suffix=".xlsx")

USER_LICENSE = "User License"

#: the portal's Order Status -> ours; (assumed) "Temporary" is an order saved but not
#: submitted: not an order yet
STATUS = {"Submitted": "submitted", "Approved": "approved", "Rejected": "rejected",
          "Confirmed": "confirmed", "Final Confirmed": "confirmed", "Completed": "confirmed",
          "Temporary": ""}
STATUS_WORD = {"submitted": "Submitted", "approved": "Approved", "rejected": "Rejected",
               "confirmed": "Confirmed"}


def _packages(catalog: Catalog) -> dict[str, str]:
    """Package names as the portal writes them: "Premium iPECS ONE USER", the Reseller
    Portal's "Premium IPECS ONE USER" (case is ignored), or the Customer Manager's form
    with the free count, "Basic User With VM (7)"."""
    return {key: key for key in catalog.products}


def _package(row: Row, key: str, label: str, packages: dict[str, str]) -> str:
    value = str(row[key])
    bare = re.sub(r"\s*\(\d+\)$", "", value)
    return match(row, label, bare, packages)


def _range(row: Row) -> tuple[int, int]:
    text = row["range"]
    if text is None:
        return DEFAULT_EXTENSIONS
    cleaned = str(text).replace("~", "-").replace("Min", "").replace("Max", "")
    parts = [p.strip() for p in cleaned.split("-")]
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or int(parts[0]) > int(parts[1]):
        raise row.error(f'Extension Range: "{text}" is not a range such as 100-299')
    return int(parts[0]), int(parts[1])


def _fraud_limit(row: Row) -> int | None:
    text = row["fraud_limit"]
    if text is None:
        return None
    number = str(text).upper().replace("USD/DAY", "").replace(",", "").strip()
    if not number.isdigit():
        raise row.error(f'Call Fraud Limit: "{text}" is not a whole number of USD/Day')
    return int(number)


def read(ctx: ReadContext) -> ActualAccount:
    packages = _packages(ctx.catalog)
    users_rows = ctx.tables["users"]
    unique_extensions(users_rows)
    sites: dict[str, tuple[tuple[int, int], Row]] = {}
    users = []
    for row in users_rows:
        site = str(row["site"])
        rng = _range(row)
        if site in sites and sites[site][0] != rng and row["range"] is not None:
            raise row.error(f'Extension Range of site "{site}" differs from line '
                            f"{sites[site][1].line}")
        sites.setdefault(site, (rng, row))
        users.append(ActualUser(
            extension=row["extension"],
            user_id=row["user_id"] or f"ext-{row['extension']}",
            name=row["name"],
            profile=_package(row, "package", "Package", packages),
            email=row["email"],
            site=site,
            caller_id=row["caller_id"],
            call_barring=row["call_barring"],
            fraud_limit=_fraud_limit(row),
        ))
    pool: dict[str, int] = {}
    seen: dict[str, Row] = {}
    for row in ctx.tables["licences"]:
        if row["group"] is not None and " ".join(str(row["group"]).lower().split()) != \
                USER_LICENSE.lower():
            continue
        package = _package(row, "item", "Order Item", packages)
        if package in seen:
            raise row.error(f"{package} appears twice (first on line {seen[package].line})")
        seen[package] = row
        if row["now"]:
            pool[package] = row["now"]
    orders: dict[str, ChangeOrder] = {}
    for row in ctx.tables.get("orders", ()):
        if row["customer"] is not None and str(row["customer"]) != ctx.external_id:
            continue
        state = lookup(row, "status", "Order Status", STATUS)
        if not state:
            continue
        order_id = str(row["order_no"])
        if order_id in orders:
            raise row.error(f"order {order_id} has a second item (one package per change "
                            "order, assumed)")
        orders[order_id] = ChangeOrder(
            order_id=order_id,
            licence=_package(row, "item", "Order Item", packages),
            delta=row["qty"],
            state=state,
            submitted_on=row["order_date"],
        )
    return ActualAccount(
        platform=PLATFORM,
        external_id=ctx.external_id,
        name="",  # the exports do not name the account
        today=ctx.today,
        users=tuple(sorted(users, key=lambda u: u.extension)),
        licences=tuple(Licence(k, pool[k]) for k in sorted(pool)),
        orders=tuple(sorted(orders.values(), key=lambda o: int(o.order_id)
                            if o.order_id.isdigit() else 0)),
        sites=tuple(Site(name, r[0][0], r[0][1]) for name, r in sorted(sites.items())),
    )


def export(actual: ActualAccount, catalog: Catalog) -> Mapping[str, list[dict[str, Any]]]:
    ranges = {s.name: f"{s.first}-{s.last}" for s in actual.sites}
    users = [
        {"site": u.site, "extension": u.extension, "name": u.name, "package": u.profile,
         "call_barring": u.call_barring, "email": u.email, "caller_id": u.caller_id,
         "fraud_limit": u.fraud_limit, "user_id": u.user_id, "range": ranges.get(u.site or "")}
        for u in actual.users
    ]
    pending: dict[str, int] = {}
    for o in actual.orders:
        if o.pending:
            pending[o.licence] = pending.get(o.licence, 0) + o.delta
    licences = [
        {"group": USER_LICENSE, "item": lic.key, "now": lic.quantity,
         "order": pending.get(lic.key, 0), "to_be": lic.quantity + pending.get(lic.key, 0)}
        for lic in actual.licences
    ] + [
        {"group": USER_LICENSE, "item": key, "now": 0, "order": delta, "to_be": delta}
        for key, delta in sorted(pending.items()) if actual.licence(key) is None
    ]
    orders = [
        {"order_no": o.order_id, "order_date": o.submitted_on, "order_type": "Change",
         "status": STATUS_WORD[o.state], "item": o.licence, "qty": o.delta,
         "customer": actual.external_id}
        for o in actual.orders
    ]
    return {"users": users, "licences": licences, "orders": orders}


PORTAL = Portal(sheets=(USERS, ORDERS, LICENCES), read=read, export=export,
                name="iPECS Customer Manager and Reseller Portal",
                instructions=runbook.instructions)
