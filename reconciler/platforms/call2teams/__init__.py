"""Call2Teams: subscriptions (SKU x quantity) per client account; users use one licence."""

from __future__ import annotations

from decimal import Decimal

from reconciler.catalog import Catalog
from reconciler.model import ActualAccount
from reconciler.money import ZERO
from reconciler.platforms.base import Platform
from reconciler.platforms.call2teams.catalog import CATALOG, PLATFORM, TRIAL_DAYS


def monthly_bill(state: ActualAccount, catalog: Catalog) -> Decimal:
    """Each active subscription bills quantity x its tier's price; a cancelled one nothing."""
    return sum(
        (catalog.products[lic.key].monthly * lic.quantity for lic in state.licences if lic.active),
        ZERO,
    )


CALL2TEAMS = Platform(
    name=PLATFORM,
    label="Call2Teams",
    catalog=CATALOG,
    words={
        "create_user": "Add User",
        "change_profile": "Move User to Subscription",
        "update_user": "Edit User",
        "renumber_user": "Change Extension",
        "delete_user": "Delete User",
        "order_licences": "Amend Subscription",
        "return_licences": "Amend Subscription",
        "manual": "Service Desk Request",
    },
    validate_at="reconciler.platforms.call2teams.rules:validate",
    monthly_bill=monthly_bill,
    planner_at="reconciler.platforms.call2teams.planner:plan",
    user_fields=("name", "email", "profile", "licence"),
    product_noun="SKU",
    products_heading="Subscription SKUs (price per licence, by volume tier)",
    pool_field="licence",
    complete_at="reconciler.platforms.call2teams.rules:complete",
    licences_comment="  # subscriptions: quantity per SKU",
    account_kinds=True,
    trial_days=TRIAL_DAYS,
    portal_at="reconciler.platforms.call2teams.portal:PORTAL",
)
