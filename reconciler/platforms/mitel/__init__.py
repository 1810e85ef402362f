"""Mitel (ShoreTel) Connect CLOUD: one profile type per user, add-ons per user."""

from __future__ import annotations

from decimal import Decimal

from reconciler.catalog import Catalog
from reconciler.model import ActualAccount
from reconciler.money import ZERO
from reconciler.platforms.base import Platform
from reconciler.platforms.mitel.catalog import CATALOG, PLATFORM, ROLES, ROLES_THAT_MAY_CHANGE


def monthly_bill(state: ActualAccount, catalog: Catalog) -> Decimal:
    """Every user pays its profile type and each add-on, monthly."""
    total = ZERO
    for user in state.users:
        total += catalog.products[user.profile].monthly
        total += sum((catalog.add_ons[a].monthly for a in user.add_ons), ZERO)
    return total


MITEL = Platform(
    name=PLATFORM,
    label="Mitel Connect CLOUD",
    catalog=CATALOG,
    words={
        "create_user": "Add User",
        "change_profile": "Swap",
        "add_addon": "Enable Add-On",
        "remove_addon": "Disable Add-On",
        "update_user": "Edit User",
        "renumber_user": "Change Extension",
        "delete_user": "Delete User",
    },
    validate_at="reconciler.platforms.mitel.rules:validate",
    monthly_bill=monthly_bill,
    planner_at="reconciler.platforms.mitel.planner:plan",
    user_fields=("name", "email", "site", "profile", "add_ons"),
    product_noun="profile type",
    products_heading="Profile types",
    roles=ROLES,
    role_noun="Mitel Connect role",
    default_role="decision-maker",
    role_env="RECONCILER_MITEL_ROLE",
    # seed 000: only a decision-maker or phone-manager may swap profile types or add users
    write_roles=ROLES_THAT_MAY_CHANGE,
    role_gated_actions=("create_user", "change_profile"),
    portal_at="reconciler.platforms.mitel.portal:PORTAL",
)
