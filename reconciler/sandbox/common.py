"""What the three simulated platforms share: the context of one write and user helpers.

Each platform module (mitel.py, ipecs.py, call2teams.py) maps a step's action to a handler
``(ctx, step) -> StepOutcome`` that checks the platform's rules and raises
``PlatformError`` in the platform's own words; the handler runs inside the write
transaction, so a refusal leaves nothing behind.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from reconciler.catalog import Catalog
from reconciler.errors import PlatformError
from reconciler.plan import Step
from reconciler.provider import StepOutcome
from reconciler.sandbox.state import AccountRow, join_add_ons

APPROVAL_MODES = ("immediate", "delayed", "manual")


@dataclass(frozen=True)
class Settings:
    """Per-platform behaviour taken from reconciler.yaml (see ``Sandbox.settings``)."""

    #: Mitel: the credential's role
    mitel_role: str = "decision-maker"
    #: iPECS: how change orders get approved
    approval: str = "immediate"
    approval_delay_days: int = 0


@dataclass(frozen=True)
class Ctx:
    conn: sqlite3.Connection
    account: AccountRow
    catalog: Catalog
    today: date
    key: str
    settings: Settings


Handler = Callable[[Ctx, Step], StepOutcome]


@dataclass(frozen=True)
class Wording:
    """A platform's words for the refusals every platform shares."""

    user_not_found: str  # {ext}
    extension_taken: str  # {ext}
    name_required: str
    not_editable: str  # {field}


def user_row(ctx: Ctx, extension: int | None, words: Wording) -> sqlite3.Row:
    if extension is None:
        raise PlatformError(words.user_not_found.format(ext="(none)"), code="not-found")
    row = ctx.conn.execute(
        "SELECT * FROM users WHERE account_id = ? AND extension = ?",
        (ctx.account.id, extension),
    ).fetchone()
    if row is None:
        raise PlatformError(words.user_not_found.format(ext=extension), code="not-found")
    return row


def require_free_extension(ctx: Ctx, extension: int, words: Wording) -> None:
    taken = ctx.conn.execute(
        "SELECT 1 FROM users WHERE account_id = ? AND extension = ?", (ctx.account.id, extension)
    ).fetchone()
    if taken:
        raise PlatformError(words.extension_taken.format(ext=extension))


def record_of(step: Step) -> dict[str, Any]:
    """The full user record of a create/replace: ``after``, with the step's extension."""
    record = dict(step.after or {})
    if step.user is not None:
        record.setdefault("extension", step.user)
    ext = record.get("extension")
    if not isinstance(ext, int) or isinstance(ext, bool):
        raise PlatformError(f"extension must be a number, not {ext!r}")
    if step.user is not None and ext != step.user:
        raise PlatformError(f"the step is for extension {step.user} but its record says {ext}")
    return record


def require_name(record: Mapping[str, Any], words: Wording) -> str:
    name = record.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PlatformError(words.name_required)
    return name


def insert_user(ctx: Ctx, record: Mapping[str, Any], *, profile: str) -> int:
    cur = ctx.conn.execute(
        "INSERT INTO users (account_id, extension, name, email, site, profile, add_ons, licence,"
        " caller_id, call_barring, fraud_limit) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            ctx.account.id, record["extension"], record["name"], record.get("email"),
            record.get("site"), profile, join_add_ons(record.get("add_ons") or []),
            record.get("licence"), record.get("caller_id"), record.get("call_barring"),
            record.get("fraud_limit"),
        ),
    )
    return int(cur.lastrowid or 0)


def update_fields(
    ctx: Ctx, row: sqlite3.Row, step: Step, editable: frozenset[str], words: Wording
) -> dict[str, Any]:
    """update_user: set the fields in ``after``; each must be editable on this platform."""
    changes = dict(step.after or {})
    if not changes:
        raise PlatformError("nothing to change")
    for field_name, value in changes.items():
        if field_name not in editable:
            raise PlatformError(words.not_editable.format(field=field_name))
        if field_name == "name":
            require_name(changes, words)
        elif field_name == "fraud_limit":
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 0):
                raise PlatformError("Call Fraud Limit must be a whole number of USD/Day")
        elif value is not None and not isinstance(value, str):
            raise PlatformError(f"{field_name} must be text, not {value!r}")
    assignments = ", ".join(f"{f} = ?" for f in changes)
    ctx.conn.execute(
        f"UPDATE users SET {assignments} WHERE id = ?", (*changes.values(), row["id"])
    )
    return changes


def new_extension(step: Step) -> int:
    """renumber_user's new extension: ``after.extension`` (``user`` is the old one)."""
    new = (step.after or {}).get("extension")
    if not isinstance(new, int) or isinstance(new, bool):
        raise PlatformError(f"the new extension must be a number, not {new!r}")
    return new


def renumber(ctx: Ctx, step: Step, words: Wording) -> sqlite3.Row:
    """renumber_user: ``user`` is the extension the user has now, ``after.extension`` the
    new one (docs/steps.md)."""
    row = user_row(ctx, step.user, words)
    new = new_extension(step)
    require_free_extension(ctx, new, words)
    ctx.conn.execute("UPDATE users SET extension = ? WHERE id = ?", (new, row["id"]))
    return row


def field_updater(editable: frozenset[str], words: Wording) -> Handler:
    """The update_user handler of a platform whose only rule is which fields it edits."""

    def update_user(ctx: Ctx, step: Step) -> StepOutcome:
        row = user_row(ctx, step.user, words)
        changed = update_fields(ctx, row, step, editable, words)
        return done(f"edited {', '.join(sorted(changed))} of {step.user}")

    return update_user


def renumberer(words: Wording) -> Handler:
    """The renumber_user handler of a platform with no rule of its own on extensions."""

    def renumber_user(ctx: Ctx, step: Step) -> StepOutcome:
        row = renumber(ctx, step, words)
        return done(f"changed extension {row['extension']} to {new_extension(step)}")

    return renumber_user


def delete(ctx: Ctx, row: sqlite3.Row) -> None:
    ctx.conn.execute("DELETE FROM users WHERE id = ?", (row["id"],))


def done(detail: str, order_id: str | None = None) -> StepOutcome:
    return StepOutcome(status="done", detail=detail, order_id=order_id)


def unsupported(platform_label: str) -> Handler:
    def handler(ctx: Ctx, step: Step) -> StepOutcome:
        raise PlatformError(f"{platform_label} has no operation for {step.action}")

    return handler
