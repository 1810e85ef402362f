"""One plain data view of a plan: what every template renders.

The view holds only strings, numbers, booleans, lists and dicts, already worded for a
reader (money signed and with two places, each step described in the platform's own
vocabulary). Templates add layout and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from reconciler.escape import mask_email, terminal, walk_strings
from reconciler.money import ZERO, fmt, signed
from reconciler.plan import AccountPlan, Plan, Step
from reconciler.platforms import PLATFORMS
from reconciler.render.summary import Summary, prices_text

#: action -> (sign, kind). A replace is Terraform's -/+ : one removed and one added.
SIGNS: dict[str, tuple[str, str]] = {
    "create_user": ("+", "add"),
    "order_licences": ("+", "add"),
    "delete_user": ("-", "remove"),
    "return_licences": ("-", "remove"),
    "replace_user": ("-/+", "replace"),
    "manual": ("!", "manual"),
}
CHANGE = ("~", "change")

#: wording when neither the step nor its platform names the action
GENERIC_WORDS = {
    "create_user": "Create User",
    "update_user": "Update User",
    "renumber_user": "Renumber User",
    "change_profile": "Change Profile",
    "replace_user": "Replace User",
    "add_addon": "Add Add-On",
    "remove_addon": "Remove Add-On",
    "delete_user": "Delete User",
    "order_licences": "Order Licences",
    "return_licences": "Return Licences",
    "confirm_order": "Confirm Order",
    "manual": "Manual Step",
}

#: how a change from one value to another is written: ASCII on a terminal; in markdown and
#: HTML one arrow glued to both sides by no-break spaces, so that a narrow table cell never
#: wraps ``125.00 -> 150.00`` into ``-`` / ``>`` or between a value and its arrow
TEXT_ARROW = " -> "
RICH_ARROW = "\u00a0\u2192\u00a0"

# keys shown as the step's headline rather than as an attribute line
_HEADLINE_KEYS = ("profile", "licence", "add_ons")


#: a record's field -> how a reviewer reads it
FIELD_NAMES = {
    "add_ons": "add-ons",
    "caller_id": "caller id",
    "call_barring": "call barring",
    "fraud_limit": "fraud limit (USD/day)",
    "email": "e-mail",
}


def field_name(name: str) -> str:
    return FIELD_NAMES.get(name, name.replace("_", " "))


def value_text(value: Any) -> str:
    if value is None or value == "" or value == [] or value == ():
        return "(none)"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Decimal):
        return fmt(value)
    return str(value)


def _word(step: Step, platform: str) -> str:
    if step.label:
        return step.label
    known = PLATFORMS.get(platform)
    if known is not None and step.action in known.words:
        return known.words[step.action]
    return GENERIC_WORDS.get(step.action, step.action)


def user_name(step: Step) -> str:
    if step.name:
        return step.name
    for source in (step.params, step.before or {}, step.after or {}):
        name = source.get("name")
        if name:
            return str(name)
    return ""


def record_text(rec: Mapping[str, Any]) -> tuple[str, list[dict[str, str]]]:
    """Headline (profile with add-ons on licence) and the other fields of a user record."""
    parts = [value_text(rec["profile"])] if "profile" in rec else []
    if rec.get("add_ons"):
        parts.append("with " + value_text(rec["add_ons"]))
    if rec.get("licence"):
        parts.append("on " + value_text(rec["licence"]))
    attrs = [
        {"name": field_name(k), "before": "", "after": value_text(v)}
        for k, v in rec.items()
        if k not in _HEADLINE_KEYS and k not in ("extension", "name")
    ]
    return " ".join(parts), attrs


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, str]]:
    keys = [*before, *(k for k in after if k not in before)]
    return [
        {"name": field_name(k), "before": value_text(before.get(k)),
         "after": value_text(after.get(k))}
        for k in keys
        if before.get(k) != after.get(k)
    ]


def _quantity(step: Step, currency: str, arrow: str) -> tuple[str, list[dict[str, str]]]:
    """``25 -> 30 (+5)``; with the old and new total where the platform shows them."""
    before, after = step.before or {}, step.after or {}
    old, new = before.get("quantity"), after.get("quantity")
    if not isinstance(old, int) or not isinstance(new, int):
        return value_text(new if new is not None else old), []
    detail = f"quantity {old}{arrow}{new} ({new - old:+d})"
    attrs: list[dict[str, str]] = []
    old_total, new_total = before.get("total"), after.get("total")
    if old_total is None and new != old and step.monthly_delta != ZERO:
        # the step's monthly delta is (new - old) x the licence price
        unit = abs(step.monthly_delta) / abs(new - old)
        old_total, new_total = unit * old, unit * new
    if old_total is not None and new_total is not None:
        detail += f", total {fmt(Decimal(str(old_total)))}{arrow}{fmt(Decimal(str(new_total)))}"
        detail += f" {currency}/month"
    return detail, attrs


def step_view(
    step: Step, platform: str, currency: str, arrow: str = TEXT_ARROW
) -> dict[str, Any]:
    sign, kind = SIGNS.get(step.action, CHANGE)
    before, after = step.before or {}, step.after or {}
    name = user_name(step)
    subject = f"{step.user} {name}".rstrip() if step.user is not None else str(step.licence)
    detail: str = ""
    attrs: list[dict[str, str]] = []
    a = step.action
    if a == "create_user":
        detail, attrs = record_text(after)
    elif a == "delete_user":
        detail, _ = record_text(before)
    elif a == "replace_user":
        detail = f"{value_text(before.get('profile'))}{arrow}{value_text(after.get('profile'))}"
        attrs = [c for c in _changes(before, after) if c["name"] not in ("profile", "name")]
    elif a == "change_profile":
        key = next((k for k in ("profile", "licence") if k in before or k in after), None)
        if key is not None:
            detail = f"{value_text(before.get(key))}{arrow}{value_text(after.get(key))}"
        attrs = [c for c in _changes(before, after) if key is None or c["name"] != field_name(key)]
    elif a == "add_addon":
        detail = value_text(after.get("add_on"))
    elif a == "remove_addon":
        detail = value_text(before.get("add_on"))
    elif a == "renumber_user":
        old, new = value_text(before.get("extension")), value_text(after.get("extension"))
        detail = f"extension {old}{arrow}{new}"
        if "site" in after:  # an iPECS site move: both in one step
            detail += f", site {value_text(before.get('site'))}{arrow}{value_text(after['site'])}"
    elif a == "update_user":
        attrs = _changes(before, after)
        detail = ", ".join(c["name"] for c in attrs)
    elif a in ("order_licences", "return_licences", "manual"):
        detail, attrs = _quantity(step, currency, arrow)
    elif a == "confirm_order":
        order = step.params.get("order_id")
        detail = f"order {order}" if order else "the order above"
        if "quantity" in after:
            detail += f", pool becomes {value_text(after['quantity'])}"
    request = step.params.get("request")
    if request:
        attrs = [*attrs, {"name": "request", "before": "", "after": str(request)}]
    return {
        "id": step.id,
        "action": a,
        "sign": sign,
        "kind": kind,
        "word": _word(step, platform),
        "target": step.target,
        "name": name,
        "subject": subject,
        "detail": detail,
        "attrs": attrs,
        "monthly_delta": signed(step.monthly_delta),
        "one_time": fmt(step.one_time),
        "has_monthly": step.monthly_delta != ZERO,
        "has_one_time": step.one_time != ZERO,
        # a sample price behind money the step shows
        "sample": bool(step.sample_prices) and (step.monthly_delta != ZERO
                                                or step.one_time != ZERO),
        "sample_prices": list(step.sample_prices),
        # the customer side, where the price book gives customer prices
        "has_margin": step.revenue_delta is not None,
        "revenue_delta": signed(step.revenue_delta) if step.revenue_delta is not None else "",
        "margin_delta": signed(step.margin_delta) if step.margin_delta is not None else "",
        "mode": step.mode,
        "depends_on": list(step.depends_on),
        "warnings": list(step.warnings),
    }


def _counts(steps: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"add": 0, "change": 0, "remove": 0, "manual": 0}
    for s in steps:
        if s["kind"] == "replace":
            counts["add"] += 1
            counts["remove"] += 1
        else:
            counts[s["kind"]] += 1
    return counts


def account_head(acct: AccountPlan) -> dict[str, Any]:
    """Which account a view is of: the keys every account view (plan, drift) opens with."""
    known = PLATFORMS.get(acct.platform)
    return {
        "account": acct.account,
        "platform": acct.platform,
        "platform_label": known.label if known is not None else acct.platform,
        "external_id": acct.external_id,
        "path": acct.path,
        "fingerprint": acct.fingerprint,
    }


def account_view(acct: AccountPlan, arrow: str = TEXT_ARROW) -> dict[str, Any]:
    currency = acct.cost.currency
    steps = [step_view(s, acct.platform, currency, arrow) for s in acct.steps]
    step_warnings = sum(len(s["warnings"]) for s in steps)
    return {
        **account_head(acct),
        "cost": {
            "monthly_before": fmt(acct.cost.monthly_before),
            "monthly_after": fmt(acct.cost.monthly_after),
            "monthly_delta": signed(acct.cost.monthly_delta),
            "one_time": fmt(acct.cost.one_time),
            "currency": currency,
            "prices": prices_text(len(acct.cost.prices_used), len(acct.cost.prices_sample)),
            **_margin_view(acct),
            # the price book's figure beside the platform's own bill, when they differ
            "estimate_before": (fmt(acct.cost.estimate_before)
                                if acct.cost.bill_differs and acct.cost.estimate_before
                                is not None else ""),
        },
        "steps": steps,
        "counts": _counts(steps),
        "verdicts": [
            {"policy": v.policy, "message": v.message} for v in acct.blocked if v.blocking
        ],
        "notices": [
            {"policy": v.policy, "message": v.message} for v in acct.blocked if not v.blocking
        ],
        "warnings": list(acct.warnings),
        # every step's warnings with the step they belong to: what a folded step table
        # still lists (a downgrade that loses an add-on must reach the reviewer)
        "step_warnings": [
            {"step": s["id"], "subject": s["subject"], "text": w}
            for s in steps
            for w in s["warnings"]
        ],
        "warning_count": len(acct.warnings) + step_warnings,
        "unmanaged": [
            {
                "extension": str(u.get("extension", "")),
                "name": str(u.get("name") or ""),
                "profile": str(u.get("profile") or ""),
            }
            for u in acct.unmanaged
        ],
        # the planner's prune verdict already says how to delete them
        "unmanaged_hint": not any(v.policy == "prune" for v in acct.blocked),
        "blocked": acct.is_blocked,
        "has_changes": acct.has_changes,
        "has_details": bool(steps or acct.warnings or acct.blocked or acct.unmanaged),
    }


def _margin_view(acct: AccountPlan) -> dict[str, Any]:
    c = acct.cost
    if c.revenue_before is None or c.revenue_after is None:
        return {"priced": False}
    return {
        "priced": True,
        "revenue_before": fmt(c.revenue_before),
        "revenue_after": fmt(c.revenue_after),
        "revenue_delta": signed(c.revenue_after - c.revenue_before),
        "margin_before": fmt(c.margin_before),
        "margin_after": fmt(c.margin_after),
        "margin_delta": signed(c.margin_after - c.margin_before),
    }


def base_view(plan: Plan, base_now: str | None) -> dict[str, Any] | None:
    """The commit the plan was made from, and where its branch is now if it has moved."""
    if not plan.base:
        return None
    commit = plan.base["commit"]
    moved = base_now is not None and base_now != commit
    return {
        "ref": plan.base["ref"],
        "commit": commit[:12],
        "moved": moved,
        "now": base_now[:12] if base_now and moved else "",
    }


def cleaned(data: Any, arrow: str = TEXT_ARROW, mask_emails: bool = False) -> Any:
    """``data`` (a view or part of one) with user text made one line, the text arrow of
    messages worded elsewhere made ``arrow``, and e-mails masked on request."""
    data = walk_strings(data, terminal)
    if arrow != TEXT_ARROW:
        # messages worded elsewhere (policy verdicts, platform answers) use the text arrow
        data = walk_strings(data, lambda t: t.replace(TEXT_ARROW, arrow))
    if mask_emails:
        data = walk_strings(data, mask_email)
    return data


def view(
    plan: Plan, *, mask_emails: bool = False, arrow: str = TEXT_ARROW,
    base_now: str | None = None,
) -> dict[str, Any]:
    """The plan as plain data for templates; user text made one line, e-mails masked on request.

    ``arrow`` joins a value before and after a change (:data:`TEXT_ARROW` for a terminal,
    :data:`RICH_ARROW` for markdown and HTML); templates use ``plan.arrow`` too, so one
    output never mixes two arrows. ``base_now`` is the commit the plan's base ref names
    now: when it differs from the one planned from, the view says the branch moved.
    """
    summary = Summary()
    accounts = []
    for acct in plan.accounts:
        data = account_view(acct, arrow)
        summary.add(acct, data)
        accounts.append(data)
    return cleaned({**plan_head(plan, arrow, base_now), "accounts": accounts,
                    "summary": summary.view()}, arrow, mask_emails)


def plan_head(plan: Plan, arrow: str = TEXT_ARROW, base_now: str | None = None
              ) -> dict[str, Any]:
    """The keys of a plan's view besides its accounts and summary (not yet cleaned)."""
    return {
        "format_version": plan.format_version,
        "created_at": plan.created_at,
        "arrow": arrow,
        "base": base_view(plan, base_now),
    }
