"""Drift: what differs on the platform from what the files say, told from the platform's side.

The files on the default branch were applied when they were merged (octoDNS / Terraform
semantics), so any difference found now was made on the platform, not in git. Drift is
read off a plan of the files: every step undoes one difference, so each step is turned
round into "on the platform: X; the file says Y". Licence steps are netted per licence
(a temporary licence ordered and returned in the same plan is no drift; a pool change that
only follows a user's move is that user's drift), and the confirm of an order placed in
the same plan is part of that order.
"""

from __future__ import annotations

import json
from typing import IO, Any

from reconciler.escape import mask_email, md, terminal, walk_strings
from reconciler.money import fmt
from reconciler.plan import AccountPlan, Plan, Step
from reconciler.platforms import PLATFORMS
from reconciler.render.env import environment, paint
from reconciler.render.view import account_head, field_name, record_text, user_name, value_text
from reconciler.spool import add_entry, lines, splice_entries, spool

_LICENCE_ACTIONS = ("order_licences", "return_licences", "manual")


def _who(step: Step) -> str:
    # the platform's side: the name the user has there now, where the step says it
    name = str((step.before or {}).get("name") or user_name(step))
    return f"{step.user} {name}" if name else f"user {step.user}"


def _pool_field(platform: str) -> str | None:
    """The user field naming a user's pool licence on ``platform`` (Platform.pool_field)."""
    known = PLATFORMS.get(platform)
    return known.pool_field if known is not None else None


def _user_items(step: Step, pool_field: str | None) -> list[dict[str, str]]:
    before, after = step.before or {}, step.after or {}
    who, a = _who(step), step.action

    def item(platform: str, file: str) -> dict[str, str]:
        return {"kind": a, "target": str(step.user), "platform": platform, "file": file}

    if a in ("change_profile", "replace_user"):
        # a user moved between pools is told by its pool licence (a Call2Teams SKU), a
        # user whose profile changes by its profile
        key = pool_field if pool_field is not None and pool_field in before else "profile"
        verb = "uses" if key != "profile" else "is"
        return [item(f"{who} {verb} {value_text(before.get(key))}",
                     f"the file says {value_text(after.get(key))}")]
    if a == "create_user":
        headline, _ = record_text(after)
        name = after.get("name")
        wanted = f"{name} ({headline})" if name and headline else (name or headline)
        return [item(f"there is no user {step.user}", f"the file says {wanted}")]
    if a == "delete_user":
        headline, _ = record_text(before)
        return [item(f"{who} ({headline}) exists" if headline else f"{who} exists",
                     "the file says it should not be there")]
    if a == "update_user":
        return [
            item(f"{who} has {field_name(k)} {value_text(before.get(k))}",
                 f"the file says {value_text(after.get(k))}")
            for k in [*before, *(k for k in after if k not in before)]
            if before.get(k) != after.get(k)
        ]
    if a == "renumber_user":
        name = user_name(step) or "the user"
        return [item(f"{name} is at extension {value_text(before.get('extension'))}",
                     f"the file says {value_text(after.get('extension'))}")]
    if a == "add_addon":
        addon = value_text(after.get("add_on"))
        return [item(f"{who} has no {addon}", f"the file says it has {addon}")]
    if a == "remove_addon":
        return [item(f"{who} has {value_text(before.get('add_on'))}",
                     "the file does not list it")]
    return []


def _pool_key(record: dict[str, object] | None, pool_field: str | None) -> str | None:
    """The pool licence a user record holds (its ``pool_field``), None without pools."""
    if not record or pool_field is None:
        return None
    key = record.get(pool_field)
    return str(key) if key else None


def _explained(steps: tuple[Step, ...], pool_field: str | None) -> dict[str, int]:
    """Licence count changes that follow from the users' own steps: a user moved to
    another package needs one more of it and one fewer of the old. Those are reported
    as the user's drift, not again as the pool's."""
    need: dict[str, int] = {}
    for s in steps:
        if s.action not in ("create_user", "delete_user", "change_profile", "replace_user"):
            continue
        old = None if s.action == "create_user" else _pool_key(dict(s.before or {}), pool_field)
        new = None if s.action == "delete_user" else _pool_key(dict(s.after or {}), pool_field)
        if old == new:
            continue
        if old is not None:
            need[old] = need.get(old, 0) - 1
        if new is not None:
            need[new] = need.get(new, 0) + 1
    return need


def _licence_items(steps: tuple[Step, ...], pool_field: str | None) -> list[dict[str, str]]:
    """One item per licence whose quantity differs once the plan's steps are netted and
    the part explained by the users' steps is taken off."""
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    explained = _explained(steps, pool_field)
    for s in steps:
        if s.action not in _LICENCE_ACTIONS or s.licence is None:
            continue
        old, new = (s.before or {}).get("quantity"), (s.after or {}).get("quantity")
        if isinstance(old, int):
            first.setdefault(s.licence, old)
        if isinstance(new, int):
            last[s.licence] = new
    return [
        {"kind": "licence_quantity", "target": key, "platform": f"{key} quantity is {old}",
         "file": f"the file wants {last[key]}"}
        for key, old in first.items()
        if key in last and last[key] - old != explained.get(key, 0)
    ]


def _open_orders(steps: tuple[Step, ...]) -> list[dict[str, str]]:
    """Orders placed before this plan and still open (not this plan's own orders)."""
    return [
        {"kind": "pending_order", "target": str(s.licence),
         "platform": f"change order {s.params['order_id']} for {s.licence} is still open",
         "file": "apply will confirm it"}
        for s in steps
        if s.action == "confirm_order" and s.params.get("order_id")
    ]


def account_drift(acct: AccountPlan) -> dict[str, Any]:
    pool_field = _pool_field(acct.platform)
    items = _licence_items(acct.steps, pool_field) + _open_orders(acct.steps)
    for step in acct.steps:
        if step.user is not None:
            items.extend(_user_items(step, pool_field))
    for u in acct.unmanaged:
        profile = f" ({u['profile']})" if u.get("profile") else ""
        items.append({"kind": "unmanaged", "target": str(u.get("extension", "")),
                      "platform": f"{u.get('extension', '')} {u.get('name') or ''}".rstrip()
                      + profile,
                      "file": "the file does not list it"})
    # the platform bills otherwise than the price book prices its state: after an apply
    # that is the plan's monthly_after not coming true
    cost = acct.cost
    if cost.bill_differs and cost.estimate_before is not None:
        items.append({"kind": "bill", "target": "",
                      "platform": f"the platform bills {fmt(cost.monthly_before)} "
                                  f"{cost.currency}/month",
                      "file": f"the price book says {fmt(cost.estimate_before)}: check "
                              "pricebook.yaml"})
    # what the platform did by itself (an expired trial): no step undoes it
    items.extend({"kind": "expired_trial", "target": "", "platform": d, "file": ""}
                 for d in acct.drift)
    return {**account_head(acct), "drift": items}


def drift_view(plan: Plan, *, mask_emails: bool = False) -> dict[str, Any]:
    accounts = [_cleaned(account_drift(a), mask_emails) for a in plan.accounts]
    return {**_cleaned(_head(plan), mask_emails), "accounts": accounts,
            "summary": _summary(accounts)}


def _head(plan: Plan) -> dict[str, Any]:
    return {"format_version": 1, "created_at": plan.created_at}


def _summary(accounts: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "accounts": len(accounts),
        "drifted": sum(1 for a in accounts if a["drift"]),
        "differences": sum(len(a["drift"]) for a in accounts),
    }


def _cleaned(data: dict[str, Any], mask_emails: bool) -> dict[str, Any]:
    data = walk_strings(data, terminal)
    return walk_strings(data, mask_email) if mask_emails else data


def has_drift(data: dict[str, Any]) -> bool:
    return bool(data["summary"]["differences"])


#: the formats drift is written in, each account by account (:func:`drift_writer`)
DRIFT_FORMATS = ("text", "markdown", "json")


class DriftWriter:
    """Drift written account by account as each is planned (``drift``): only the counts
    are kept; what is rendered waits in a spool (reconciler.spool) until :meth:`finish`
    writes it, so memory stays flat however many accounts there are. The output is byte
    for byte :func:`render.render_drift`'s of the whole plan.

    ``text``: each account's part (drift_text_account.j2), then the summary; ``json``:
    each account's object, then the summary; ``markdown``: the drifted accounts measured
    and put aside (render.markdown.DriftFit), the report fitted to its size budget at the
    end, reading back only the accounts it shows."""

    def __init__(self, fmt: str, *, color: bool = False, mask_emails: bool = False,
                 limit: int | None = None) -> None:
        from reconciler.render.markdown import LIMIT, DriftFit

        if fmt not in DRIFT_FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        self.fmt = fmt
        self.paint = paint(color)
        self.mask_emails = mask_emails
        self.summary = {"accounts": 0, "drifted": 0, "differences": 0}
        self.body = spool()
        self.fitted = DriftFit() if fmt == "markdown" else None
        self.limit = LIMIT if limit is None else limit

    @property
    def drifted(self) -> bool:
        return bool(self.summary["differences"])

    def add(self, acct: AccountPlan) -> None:
        data = _cleaned(account_drift(acct), self.mask_emails)
        self.summary["accounts"] += 1
        self.summary["drifted"] += bool(data["drift"])
        self.summary["differences"] += len(data["drift"])
        if self.fitted is not None:
            if data["drift"]:
                self.fitted.add(walk_strings(data, md))
        elif self.fmt == "json":
            add_entry(self.body, json.dumps(data, indent=2, ensure_ascii=False),
                      first=self.summary["accounts"] == 1)
        else:
            for chunk in environment().get_template("drift_text_account.j2").generate(
                    a=data, paint=self.paint):
                self.body.write(chunk)

    def finish(self, plan: Plan, fh: IO[str]) -> None:
        head = _cleaned(_head(plan), self.mask_emails)
        if self.fitted is not None:
            self.body.close()
            fh.write(self.fitted.document({**head, "summary": self.summary}, self.limit))
        elif self.fmt == "json":
            text = json.dumps({**head, "accounts": [], "summary": self.summary}, indent=2,
                              ensure_ascii=False)
            splice_entries(text, self.body, bool(self.summary["accounts"]), fh)
        else:
            for chunk in environment().get_template("drift_text.j2").generate(
                    drift={"summary": self.summary}, accounts=lines(self.body),
                    paint=self.paint):
                fh.write(chunk)
            self.body.close()
