"""iPECS Cloud: one package per user from the account's licence pool; change orders."""

from __future__ import annotations

from decimal import Decimal

from reconciler.catalog import Catalog
from reconciler.model import ActualAccount
from reconciler.money import ZERO
from reconciler.platforms.base import Platform
from reconciler.platforms.ipecs.catalog import CATALOG, PLATFORM


def monthly_bill(state: ActualAccount, catalog: Catalog) -> Decimal:
    """Every licence in the pool is billed, assigned or not; pending orders are not."""
    return sum(
        (catalog.products[lic.key].monthly * lic.quantity for lic in state.licences), ZERO
    )


IPECS = Platform(
    name=PLATFORM,
    label="iPECS Cloud",
    catalog=CATALOG,
    words={
        "create_user": "Add User",
        "change_profile": "Change Package",
        "replace_user": "Delete and Re-create User",
        "update_user": "Modify User",
        "renumber_user": "Change Extension",
        "delete_user": "Delete User",
        "order_licences": "Change Order (+)",
        "return_licences": "Change Order (-)",
        "confirm_order": "Order Final Confirm",
    },
    validate_at="reconciler.platforms.ipecs.rules:validate",
    monthly_bill=monthly_bill,
    planner_at="reconciler.platforms.ipecs.planner:plan",
    user_fields=("name", "email", "site", "profile", "caller_id", "call_barring", "fraud_limit"),
    product_noun="package",
    products_heading="Packages (licences in the account's pool)",
    pool_field="profile",
    complete_at="reconciler.platforms.ipecs.rules:complete",
    licences_comment="  # the licence pool: confirmed counts per package",
    portal_at="reconciler.platforms.ipecs.portal:PORTAL",
)
