"""The Call2Teams partner portal click paths of each step (seed 002, "Managing
Subscriptions": Amend with the pencil and Update Subscriptions; Purchase Services and
Order Subscriptions; Internal-User subscriptions only through a Service Desk request).

(assumed) Users are added one by one in the account's Users page or in bulk with the
import file the runbook writes (the vendor's import columns); moving, editing,
renumbering and deleting a user are on that page too (not in the seed).
"""

from __future__ import annotations

from reconciler.plan import Step
from reconciler.portal.instructions import Instruction, StepContext, quoted

BASE = ("Open the base account screen and click on the drop-down arrow of account {id} to "
        "view/amend its subscriptions.")
USERS = "Open account {id} and go to its Users page."


def _amend(step: Step, ctx: StepContext) -> Instruction:
    before = int((step.before or {}).get("quantity", 0))
    after = int((step.after or {}).get("quantity", 0))
    p = step.params
    totals = (f" (old total {p['old_total']} -> new total {p['new_total']} "
              f"{p.get('currency', '')}/month)".replace(" /", "/")
              if "old_total" in p and "new_total" in p else "")
    if before == 0:
        return Instruction(
            f"Order Subscriptions {step.licence}: quantity {after}",
            (BASE.format(id=ctx.external_id),
             f"In the Purchase Services section, amend the quantity of {step.licence} to "
             f"{after}{totals}.",
             "Click the blue Order Subscriptions button."))
    return Instruction(
        f"Amend Subscription {step.licence}: quantity {before} -> {after}",
        (BASE.format(id=ctx.external_id),
         f"In the Subscriptions section, click on the pencil of {step.licence} and amend the "
         f"quantity from {before} to {after}{totals}.",
         "Check the old and new quantity and total shown, then click the blue Update "
         "Subscriptions button."))


def instructions(step: Step, ctx: StepContext) -> Instruction:
    a, b = dict(step.after or {}), dict(step.before or {})
    who = f"{step.user} {step.name}".rstrip()
    users = USERS.format(id=ctx.external_id)
    if step.action in ("order_licences", "return_licences"):
        return _amend(step, ctx)
    if step.action == "manual":
        return Instruction(
            f"Service Desk Request {step.licence}: quantity {b.get('quantity')} -> "
            f"{a.get('quantity')}",
            ("Internal-User licences are ordered and amended only through a Service Desk "
             "request: send this request to the Call2Teams Service Desk:",
             str(step.params.get("request", ""))))
    if step.action == "create_user":
        kind = "trunk" if a.get("profile") == "trunk" else "PBX"
        number = "TrunkNumber" if kind == "trunk" else "SIPUsername"
        bulk = ctx.imports.get(step.id)
        how = (f"Either import {bulk[0]} (this user is row {bulk[1]}) with the bulk import, "
               "or add the user by hand:" if bulk else "Add the user:")
        return Instruction(
            f"Add User {who}: {kind} user on {a.get('licence')}",
            (users, how,
             f"{number}: {step.user}; Name: {quoted(a.get('name', ''))}; Email: "
             f"{quoted(a.get('email') or '')}.",
             f"Give the user a licence of subscription {a.get('licence')}."))
    if step.action == "change_profile":
        return Instruction(
            f"Move User {who} to Subscription {a.get('licence')} (from {b.get('licence')})",
            (users, f"Open user {who} and change its licence from {b.get('licence')} to "
             f"{a.get('licence')}.", "Save."))
    if step.action == "update_user":
        changes = "; ".join(f"{k}: {quoted(b.get(k, ''))} -> {quoted(v)}" for k, v in a.items())
        return Instruction(f"Edit User {who}: {', '.join(a)}",
                           (users, f"Open user {who} and change {changes}.", "Save."))
    if step.action == "renumber_user":
        new = a.get("extension")
        return Instruction(f"Change Extension of {step.name}: {b.get('extension')} -> {new}",
                           (users, f"Open user {b.get('extension')} ({step.name}) and change "
                            f"its number to {new}.", "Save."))
    if step.action == "delete_user":
        return Instruction(f"Delete User {who}",
                           (users, f"Delete user {who}; its licence becomes free."))
    return Instruction(f"{step.label or step.action} {step.target}",
                       (str(step.params.get("request", "Make this change in the portal.")),))
