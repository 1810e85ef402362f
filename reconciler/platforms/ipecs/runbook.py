"""The iPECS click paths of each step, in the seed's words (seed 001, "Upgrade a User Type
in iPECS Cloud"): the Reseller Portal's Change Order and Order Final Confirm, and the
Customer Manager's User Setup with its Change Package dialog.

(assumed) Adding, modifying, renumbering and deleting a user use the Add / Modify /
Delete buttons of the same User Setup screen, whose forms the seed shows only for Modify.
"""

from __future__ import annotations

from reconciler.plan import Step
from reconciler.portal.instructions import Instruction, StepContext, quoted

RESELLER_LOGIN = "Log into the Reseller Portal."
CUSTOMER_MANAGER = "Access the Customer Manager portal for the customer {id}."
USER_SETUP = ("Go to User, User Setup and enter the extension number {ext} and hit Search at "
              "the top of the screen, or click on the name of the user ({name}).")
FIELDS = {"name": "Name", "email": "E-mail", "site": "Site", "caller_id": "Outgoing Caller ID",
          "call_barring": "Call Barring", "fraud_limit": "Call Fraud Limit (USD/Day)",
          "profile": "Package", "extension": "Extension"}


def _order(step: Step, ctx: StepContext) -> Instruction:
    before = int((step.before or {}).get("quantity", 0))
    after = int((step.after or {}).get("quantity", 0))
    delta = after - before
    arrow = "up" if delta > 0 else "down"
    return Instruction(
        f"Change Order {step.licence}: {delta:+d} (Now {before} -> To Be {after})",
        (RESELLER_LOGIN,
         f"Click on the Customers, then Modify Existing Customer. Choose the customer "
         f"{ctx.external_id}, then click Change Order.",
         f"Click on the line item {step.licence} and in the Order(+/-) column hit the {arrow} "
         f"arrow to get to {delta:+d} (Now (EA) {before}, To Be (EA) {after}).",
         "At the top of the screen, click Submit Order and then at the bottom of the screen "
         "hit Save & Submit Order.",
         "Wait for the e-mail that the order is approved, then do the Order Final Confirm "
         "step."))


def _confirm(step: Step, ctx: StepContext) -> Instruction:
    order = step.params.get("order_id")
    which = (f"order {order}" if order else
             "the order of step " + ", ".join(str(ctx.number_of(d)) for d in step.depends_on))
    quantity = (step.after or {}).get("quantity")
    return Instruction(
        f"Order Final Confirm {step.licence}: {which}, To Be (EA) {quantity}",
        (RESELLER_LOGIN,
         "You will see an indication at the top of the screen of an order to be confirmed "
         "(once the platform approved it).",
         f"Click Order Management, Order Final Confirm, then double-click on {which} "
         f"(Customer ID {ctx.external_id}).",
         f"Scroll down to review the item: {step.licence}, To Be (EA) {quantity}. Click Final "
         "Confirm at the bottom right of the screen.",
         "Click OK to confirm."))


def _user_setup(step: Step, ctx: StepContext) -> tuple[str, ...]:
    return (CUSTOMER_MANAGER.format(id=ctx.external_id),
            USER_SETUP.format(ext=step.user, name=step.name))


def _form(record: dict[str, object]) -> str:
    return "; ".join(f"{FIELDS.get(k, k)}: {quoted(v)}" for k, v in record.items()
                     if k != "add_ons")


def _add(step: Step, ctx: StepContext, record: dict[str, object]) -> tuple[str, ...]:
    return (CUSTOMER_MANAGER.format(id=ctx.external_id),
            "Go to User, User Setup and click Add.",
            f"Enter {_form({k: v for k, v in record.items() if k != 'profile'})}.",
            f"Click the Change button next to Package, click the Change to Existing Package "
            f"radio button, select {record.get('profile')} and click Select.",
            "Click Save, then OK.")


def instructions(step: Step, ctx: StepContext) -> Instruction:
    a, b = dict(step.after or {}), dict(step.before or {})
    who = f"{step.user} {step.name}".rstrip()
    if step.action in ("order_licences", "return_licences"):
        return _order(step, ctx)
    if step.action == "confirm_order":
        return _confirm(step, ctx)
    if step.action == "change_profile":
        return Instruction(
            f"Change Package {who}: {b.get('profile')} -> {a.get('profile')}",
            (*_user_setup(step, ctx),
             f"Click Modify, then click the Change button next to the current user package "
             f"({b.get('profile')}).",
             f"Click on the Change to Existing Package radio button, then click the dropdown "
             f"and select {a.get('profile')}, then click Select.",
             "Click OK to confirm; the user will then update to the new User Type."))
    if step.action == "create_user":
        return Instruction(f"Add User {who}: {a.get('profile')}", _add(step, ctx, a))
    if step.action == "replace_user":
        return Instruction(
            f"Delete and Re-create User {who}: {b.get('profile')} -> {a.get('profile')} "
            "(voicemail and settings are lost)",
            (*_user_setup(step, ctx), "Click Delete, then OK.", *_add(step, ctx, a)[1:]))
    if step.action == "update_user":
        changes = "; ".join(f"{FIELDS.get(k, k)}: {quoted(b.get(k, ''))} -> {quoted(v)}"
                            for k, v in a.items())
        return Instruction(f"Modify User {who}: {', '.join(FIELDS.get(k, k) for k in a)}",
                           (*_user_setup(step, ctx), "Click Modify.", f"Change {changes}.",
                            "Click Save, then OK."))
    if step.action == "renumber_user":
        old = b.get("extension")
        return Instruction(
            f"Change Extension of {step.name}: {old} -> {a.get('extension')}",
            (CUSTOMER_MANAGER.format(id=ctx.external_id),
             USER_SETUP.format(ext=old, name=step.name), "Click Modify.",
             f"Change Extension: {old} -> {a.get('extension')}.", "Click Save, then OK."))
    if step.action == "delete_user":
        return Instruction(f"Delete User {who} (the licence stays in the pool until returned)",
                           (*_user_setup(step, ctx), "Click Delete, then OK."))
    return Instruction(f"{step.label or step.action} {step.target}",
                       (str(step.params.get("request", "Make this change in the portal.")),))
