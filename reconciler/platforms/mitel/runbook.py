"""The Connect Portal click paths of each step (seed 000: "To swap a profile type").

The Swap is the seed's own eight steps. (assumed) Add-ons are changed in the same Swap
dialog keeping the profile type (the seed's Add-On grid, step 6); adding, editing,
renumbering and deleting users follow the portal's related articles named in the seed
("Adding Users", "Changing the Phone Number or Extension for a User", "Editing Phone
Settings"), whose screens are not in the seed.
"""

from __future__ import annotations

from reconciler.catalog import Catalog
from reconciler.plan import Step
from reconciler.portal.instructions import Instruction, StepContext, quoted, value

LOGIN = "Log in to the Connect Portal."
USERS = "On the Phone System menu, click Users."


def _profile(catalog: Catalog, key: object) -> str:
    product = catalog.product(str(key))
    return product.display if product else str(key)


def _add_ons(catalog: Catalog, keys: object) -> str:
    names = [catalog.add_ons[k].display if k in catalog.add_ons else str(k)
             for k in (keys or [])]  # type: ignore[attr-defined]
    return ", ".join(names) if names else "none"


def _row(step: Step) -> str:
    return f"the row that contains {step.user} {step.name}".rstrip()


def _swap_dialog(step: Step, catalog: Catalog, old: object, new: object,
                 old_add_ons: object, new_add_ons: object) -> tuple[str, ...]:
    return (
        LOGIN,
        USERS,
        f"Right-click in {_row(step)}, and then click Swap. The Swap Product dialog box "
        "appears.",
        f"Under Current Phone, verify the user's name ({step.name}), current profile type "
        f"({_profile(catalog, old)}) and add-on features ({_add_ons(catalog, old_add_ons)}).",
        f"Under New Product Type, in the Product Type list, select {_profile(catalog, new)}.",
        "In the Enabled column of the Add-On grid, select the check box of exactly these "
        f"add-on features: {_add_ons(catalog, new_add_ons)} (clear any other).",
        "Click Next.",
        "In the Summary panel, verify the displayed information and then click Finish.",
    )


def instructions(step: Step, ctx: StepContext) -> Instruction:
    cat, a, b = ctx.catalog, step.after or {}, step.before or {}
    who = f"{step.user} {step.name}".rstrip()
    if step.action == "change_profile":
        return Instruction(
            f"Swap {who}: {_profile(cat, b.get('profile'))} -> {_profile(cat, a.get('profile'))}",
            _swap_dialog(step, cat, b.get("profile"), a.get("profile"), b.get("add_ons"),
                         a.get("add_ons")))
    if step.action in ("add_addon", "remove_addon"):
        add_on = value(a, "add_on") or value(b, "add_on")
        name = cat.add_ons[add_on].display if add_on in cat.add_ons else str(add_on)
        tick = "select" if step.action == "add_addon" else "clear"
        return Instruction(
            f"{'Enable' if tick == 'select' else 'Disable'} add-on {name} for {who}",
            (LOGIN, USERS,
             f"Right-click in {_row(step)}, and then click Swap. The Swap Product dialog box "
             "appears.",
             "Under New Product Type, leave the Product Type as it is (the user's current "
             "profile type).",
             f"In the Enabled column of the Add-On grid, {tick} the check box of {name}; "
             "leave the others as they are.",
             "Click Next.",
             "In the Summary panel, verify the displayed information and then click Finish."))
    if step.action == "create_user":
        return Instruction(
            f"Add User {who}: {_profile(cat, a.get('profile'))}",
            (LOGIN, USERS,
             "Click Add User (the portal's Adding Users article).",
             f"Name: {quoted(a.get('name', ''))}; Extension: {step.user}; Email: "
             f"{quoted(a.get('email') or '')}.",
             f"Product Type: {_profile(cat, a.get('profile'))}.",
             "In the Enabled column of the Add-On grid, select the check box of exactly "
             f"these add-on features: {_add_ons(cat, a.get('add_ons'))}.",
             "Click Next, verify the Summary (the one-time NRC is charged), then Finish."))
    if step.action == "update_user":
        changes = "; ".join(f"{k}: {quoted(b.get(k, ''))} -> {quoted(v)}" for k, v in a.items())
        return Instruction(f"Edit User {who}: {', '.join(a)}",
                           (LOGIN, USERS, f"Double-click {_row(step)} to edit the user.",
                            f"Change {changes}.", "Click Save."))
    if step.action == "renumber_user":
        return Instruction(
            f"Change Extension of {step.name}: {b.get('extension')} -> {a.get('extension')}",
            (LOGIN, USERS,
             f"Select the row of extension {b.get('extension')} ({step.name}) and change its "
             "extension (the portal's Changing the Phone Number or Extension for a User).",
             f"New extension: {a.get('extension')}.", "Click Save."))
    if step.action == "delete_user":
        return Instruction(f"Delete User {who}",
                           (LOGIN, USERS, f"Right-click in {_row(step)}, and then click Delete.",
                            "Confirm the deletion."))
    return Instruction(f"{step.label or step.action} {step.target}",
                       (f"{step.params.get('request', 'Make this change in the portal.')}",))
