"""Rendering a plan account by account: ``text`` and ``json`` as each account is planned.

A writer is given each :class:`~reconciler.plan.AccountPlan` in turn (:meth:`add`) and
keeps only the running totals (:class:`~reconciler.plan.PlanTotals`); the accounts'
rendered text goes to a spooled temporary file (in memory while small, on disk after), so
peak memory stays flat however many accounts a plan has. :meth:`finish` writes the whole
output: what comes first (the text's blocked verdicts, the JSON's digest) is known only at
the end. The output is byte for byte the one of the whole plan (``render``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import IO, Any, Protocol

from reconciler.escape import mask_email, md, terminal, walk_strings
from reconciler.plan import FORMAT_VERSION, AccountPlan, Plan, PlanTotals
from reconciler.planio import account_to_json
from reconciler.render.env import environment, paint
from reconciler.render.markdown import LIMIT, PlanFit
from reconciler.render.summary import Summary
from reconciler.render.view import RICH_ARROW, TEXT_ARROW, account_view, cleaned, plan_head
from reconciler.spool import add_entry, copy, lines, splice_entries, spool

#: the formats a writer renders account by account (the runbook is made from the whole plan)
STREAMED = ("text", "json", "html", "markdown")


class PlanWriter(Protocol):
    totals: PlanTotals

    def add(self, acct: AccountPlan) -> None: ...

    def finish(self, plan: Plan, fh: IO[str]) -> None: ...


class TextWriter:
    """The terminal plan (``text_head.j2``, ``text_account.j2`` per account,
    ``text_summary.j2``)."""

    def __init__(self, *, color: bool = False, mask_emails: bool = False) -> None:
        self.paint = paint(color)
        self.mask_emails = mask_emails
        self.summary = Summary()
        self.totals = self.summary.totals
        self.body = spool()
        self.verdicts = spool()

    def add(self, acct: AccountPlan) -> None:
        data = cleaned(account_view(acct, TEXT_ARROW), TEXT_ARROW, self.mask_emails)
        self.summary.add(acct, data)
        env = environment()
        if data["blocked"]:
            _write(self.verdicts, env.get_template("text_verdicts.j2")
                   .generate(a=data, paint=self.paint))
        _write(self.body, env.get_template("text_account.j2")
               .generate(a=data, arrow=TEXT_ARROW, paint=self.paint))

    def finish(self, plan: Plan, fh: IO[str]) -> None:
        env = environment()
        _write(fh, env.get_template("text_head.j2").generate(
            using=using_line(plan), blocked=self.totals.blocked,
            verdicts=lines(self.verdicts), paint=self.paint))
        self.verdicts.close()
        copy(self.body, fh)
        _write(fh, env.get_template("text_summary.j2").generate(
            s_=cleaned(self.summary.view(), TEXT_ARROW, self.mask_emails), paint=self.paint))


class HtmlWriter:
    """The self-contained page (``html.j2``): the summary table's rows and the accounts'
    sections (``html_parts.j2``) spooled as they come, the page written around them."""

    def __init__(self, *, mask_emails: bool = False) -> None:
        self.mask_emails = mask_emails
        self.summary = Summary()
        self.totals = self.summary.totals
        self.rows = spool()
        self.sections = spool()

    def add(self, acct: AccountPlan) -> None:
        data = cleaned(account_view(acct, RICH_ARROW), RICH_ARROW, self.mask_emails)
        self.summary.add(acct, data)
        parts: Any = environment().get_template("html_parts.j2").module
        index = self.totals.accounts
        self.rows.write(str(parts.row(data, index)) + "\n")
        self.sections.write(str(parts.section(data, index, RICH_ARROW)) + "\n")

    def finish(self, plan: Plan, fh: IO[str]) -> None:
        page = cleaned({"format_version": plan.format_version, "created_at": plan.created_at,
                        "summary": self.summary.view()}, RICH_ARROW, self.mask_emails)
        _write(fh, environment().get_template("html.j2").generate(
            plan=page, rows=lines(self.rows), sections=lines(self.sections)))
        self.rows.close()
        self.sections.close()


class MarkdownWriter:
    """The pull-request comment within its size budget (render.markdown.PlanFit): each
    account measured and put aside as it comes; the comment, chosen at the end, reads back
    only the accounts it shows."""

    def __init__(self, *, mask_emails: bool = False, base_now: str | None = None,
                 limit: int = LIMIT) -> None:
        self.mask_emails = mask_emails
        self.base_now = base_now
        self.limit = limit
        self.summary = Summary()
        self.totals = self.summary.totals
        self.fitted = PlanFit()

    def add(self, acct: AccountPlan) -> None:
        data = cleaned(account_view(acct, RICH_ARROW), RICH_ARROW, self.mask_emails)
        self.summary.add(acct, data)
        self.fitted.add(walk_strings(data, md))

    def finish(self, plan: Plan, fh: IO[str]) -> None:
        head = cleaned({**plan_head(plan, RICH_ARROW, self.base_now),
                        "summary": self.summary.view()}, RICH_ARROW, self.mask_emails)
        fh.write(self.fitted.document(walk_strings(head, md), self.limit))


def _write(fh: IO[str], chunks: Iterable[str]) -> None:
    for chunk in chunks:
        fh.write(chunk)


def _dumps(data: Any, **kw: Any) -> str:
    return json.dumps(data, ensure_ascii=False, **kw)


class JsonWriter:
    """The saved plan (``reconciler.planio``): each account's JSON as it comes, its digest
    (over the content in sorted-key order, where ``accounts`` comes first) as it goes."""

    def __init__(self, *, mask_emails: bool = False) -> None:
        self.mask_emails = mask_emails
        self.totals = PlanTotals()
        self.body = spool()
        self.digest = hashlib.sha256(b'{"accounts":[')

    def add(self, acct: AccountPlan) -> None:
        data = account_to_json(acct)
        self.digest.update((b"," if self.totals.accounts else b"")
                            + _dumps(data, sort_keys=True, separators=(",", ":")).encode())
        if self.mask_emails:
            data = walk_strings(data, mask_email)
        add_entry(self.body, _dumps(data, indent=2), first=not self.totals.accounts)
        self.totals.add(acct)

    def finish(self, plan: Plan, fh: IO[str]) -> None:
        rest = {
            "format_version": FORMAT_VERSION,
            "created_at": plan.created_at,
            **({"base": dict(plan.base)} if plan.base else {}),
            **({"options": dict(plan.options)} if plan.options is not None else {}),
        }
        summary = self.totals.summary()
        tail = _dumps({**rest, "summary": summary}, sort_keys=True, separators=(",", ":"))
        self.digest.update(("]," + tail[1:]).encode())
        data = {"digest": "sha256:" + self.digest.hexdigest(), **rest, "accounts": [],
                "summary": summary}
        if self.mask_emails:
            data = walk_strings(data, mask_email)
        splice_entries(_dumps(data, indent=2), self.body, bool(self.totals.accounts), fh)


def using_line(plan: Plan) -> str | None:
    """The text plan's first line: the config, price book and provider of each platform
    this run read from (``Plan.using``); None for a plan that does not know (a saved one)."""
    if not plan.using:
        return None
    return "Using " + " · ".join(f"{key}: {terminal(value)}" for key, value in plan.using.items())


def writer(fmt: str, *, color: bool = False, mask_emails: bool = False,
           base_now: str | None = None) -> PlanWriter:
    """The account-by-account writer of ``fmt`` (one of :data:`STREAMED`). ``base_now``:
    the commit the plan's base ref names now (render.view.view), for markdown."""
    if fmt == "text":
        return TextWriter(color=color, mask_emails=mask_emails)
    if fmt == "json":
        return JsonWriter(mask_emails=mask_emails)
    if fmt == "html":
        return HtmlWriter(mask_emails=mask_emails)
    if fmt == "markdown":
        return MarkdownWriter(mask_emails=mask_emails, base_now=base_now)
    raise ValueError(f"{fmt!r} is not rendered account by account")


def write_plan(plan: Plan, fmt: str, fh: IO[str], *, color: bool = False,
               mask_emails: bool = False, base_now: str | None = None) -> None:
    """The whole ``plan`` through the writer of ``fmt`` (``show``, ``render``)."""
    w = writer(fmt, color=color, mask_emails=mask_emails, base_now=base_now)
    for acct in plan.accounts:
        w.add(acct)
    w.finish(plan, fh)
