"""The runbook: a plan as the numbered steps a person performs in the portal.

For each account with steps: the steps in the plan's (dependency) order, each with the
portal's click path in the vendor's words (the platform's ``runbook.py``), the exact
values, the money it changes (taken from the step) and a checkbox; rendered as Markdown
(for a GitHub issue), HTML and text through the templates ``runbook_*.j2``. New users of a
platform with a bulk import (Call2Teams) also go into the vendor's import files, at most
``Portal.import_batch`` rows each.

``apply`` writes one runbook per account next to its exports (``DIR/<external_id>/
runbook.{md,html,txt,json}``); the JSON keeps the account's plan, so ``runbook status``
checks each step against the next exports. A Markdown runbook longer than a GitHub issue
may be (:data:`ISSUE_LIMIT`) is written in parts, ``runbook.md``, ``runbook-2.md``, ...,
each one issue's body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from reconciler.errors import InputError, ReconcilerError
from reconciler.money import fmt, signed
from reconciler.outfile import write_text
from reconciler.plan import AccountPlan, Plan, Step
from reconciler.planio import PlanFileError, plan_from_json, plan_to_json
from reconciler.portal.instructions import Instruction, StepContext
from reconciler.portal.table import Sheet, write_sheet

RUNBOOK_VERSION = 1
FORMATS = ("markdown", "html", "text")
SUFFIX = {"markdown": ".md", "html": ".html", "text": ".txt"}

#: GitHub refuses an issue or comment body longer than this many characters
ISSUE_LIMIT = 65_536
#: room kept in each part for its "Part k of n" line, whose numbers are known only after
#: the split
_PART_LINE_ROOM = 80


@dataclass(frozen=True)
class ImportFile:
    name: str
    sheet: Sheet
    rows: tuple[dict[str, Any], ...]
    steps: tuple[int, ...]


@dataclass(frozen=True)
class AccountRunbook:
    plan: AccountPlan
    portal: str
    label: str
    steps: tuple[tuple[int, Step, Instruction], ...]
    imports: tuple[ImportFile, ...]


def build(account: AccountPlan) -> AccountRunbook:
    """The runbook of one account's plan (its steps are already in dependency order)."""
    from reconciler.platforms import PLATFORMS

    platform = PLATFORMS[account.platform]
    portal = platform.portal
    if portal is None or portal.instructions is None:
        raise ReconcilerError(f"{platform.label} has no portal runbook")
    numbers = {s.id: i for i, s in enumerate(account.steps, start=1)}
    imports, rows_of = _imports(account, portal.imports or {}, portal.import_batch, numbers)
    ctx = StepContext(account.external_id, account.account, platform.catalog, numbers, rows_of)
    steps = tuple((numbers[s.id], s, portal.instructions(s, ctx)) for s in account.steps)
    return AccountRunbook(account, portal.name, platform.label, steps, imports)


def _imports(
    account: AccountPlan, sheets: Mapping[str, Sheet], batch: int, numbers: Mapping[str, int]
) -> tuple[tuple[ImportFile, ...], dict[str, tuple[str, int]]]:
    by_sheet: dict[str, list[Step]] = {}
    for step in account.steps:
        kind = str((step.after or {}).get("profile"))
        if step.action == "create_user" and kind in sheets:
            by_sheet.setdefault(sheets[kind].stem, []).append(step)
    files: list[ImportFile] = []
    rows_of: dict[str, tuple[str, int]] = {}
    for stem, steps in sorted(by_sheet.items()):
        sheet = next(s for s in sheets.values() if s.stem == stem)
        for start in range(0, len(steps), batch):
            chunk = steps[start:start + batch]
            name = f"{stem}-{start // batch + 1}.csv"
            for row, step in enumerate(chunk, start=2):  # row 1 is the header
                rows_of[step.id] = (name, row)
            files.append(ImportFile(
                name, sheet,
                tuple({**dict(s.after or {}), "extension": s.user} for s in chunk),
                tuple(numbers[s.id] for s in chunk)))
    return tuple(files), rows_of


# ----------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Part:
    """Part ``number`` of ``of`` of a runbook written in parts: its steps ``[start:stop]``."""

    number: int
    of: int
    start: int
    stop: int


def view(book: AccountRunbook, part: Part | None = None) -> dict[str, Any]:
    """Plain data for the templates (money as strings, step numbers for dependencies);
    with ``part``, only that part's steps and its "Part k of n" line."""
    a = book.plan
    numbers = {s.id: n for n, s, _ in book.steps}
    steps = book.steps if part is None else book.steps[part.start:part.stop]
    return {
        "part": None if part is None else {
            "number": part.number, "of": part.of,
            "first": steps[0][0], "last": steps[-1][0]},
        "account": a.account, "platform": book.label, "portal": book.portal,
        "external_id": a.external_id, "currency": a.cost.currency,
        "monthly_before": fmt(a.cost.monthly_before), "monthly_after": fmt(a.cost.monthly_after),
        "monthly_delta": signed(a.cost.monthly_delta), "one_time": fmt(a.cost.one_time),
        "warnings": list(a.warnings),
        "blocked": [v.message for v in a.blocked if v.blocking],
        "imports": [{"name": f.name, "rows": len(f.rows), "steps": list(f.steps)}
                    for f in book.imports],
        "steps": [
            {"number": n, "title": ins.title, "clicks": list(ins.clicks),
             "mode": s.mode, "warnings": list(s.warnings),
             "depends_on": [numbers[d] for d in s.depends_on if d in numbers],
             "monthly_delta": signed(s.monthly_delta) if s.monthly_delta else "",
             "one_time": fmt(s.one_time) if s.one_time else ""}
            for n, s, ins in steps
        ],
    }


def render(books: list[AccountRunbook], fmt_name: str, fh: IO[str],
           *, mask_emails: bool = False, part: Part | None = None) -> None:
    """Write the runbooks of ``books`` to ``fh`` as markdown, html or text (with
    ``part``, that part of the one book)."""
    from reconciler.escape import mask_email, md, terminal, walk_strings
    from reconciler.render.env import render_template

    data: Any = [view(b, part) for b in books]
    if mask_emails:
        data = walk_strings(data, mask_email)
    if fmt_name == "markdown":
        render_template("runbook_markdown.j2", fh, books=walk_strings(data, md))
    elif fmt_name == "html":
        # autoescaped by the template, over the terminal form (no hidden characters)
        render_template("html_runbook.j2", fh, books=walk_strings(data, terminal))
    elif fmt_name == "text":
        render_template("runbook_text.j2", fh, books=walk_strings(data, terminal))
    else:
        raise ValueError(f"unknown runbook format {fmt_name!r}")


def render_plan(plan: Plan, fmt_name: str, fh: IO[str], *, mask_emails: bool = False) -> None:
    """``plan --format runbook``: the runbook of every account with steps."""
    books = [build(a) for a in plan.accounts if a.steps]
    if not books:
        fh.write("No steps: every account is as its file says.\n")
        return
    render(books, fmt_name, fh, mask_emails=mask_emails)


def markdown_parts(book: AccountRunbook, limit: int = ISSUE_LIMIT) -> list[str]:
    """The Markdown runbook as one or more texts of at most ``limit`` characters each,
    split between steps, every part a whole issue body (its heading, "Part k of n", its
    steps; the totals, warnings and import files in part 1). A single step longer than
    ``limit`` alone is a part of its own."""
    whole = _markdown(book)
    if len(whole) <= limit or len(book.steps) < 2:
        return [whole]
    ranges: list[tuple[int, int]] = []
    start, n = 0, len(book.steps)
    while start < n:
        # the most steps from ``start`` that fit (each part is searched for afresh: a
        # part's size grows with its steps, so bisect on the stop)
        lo, hi = start + 1, n
        while lo < hi:
            mid = (lo + hi + 1) // 2
            size = len(_markdown(book, Part(len(ranges) + 1, n, start, mid)))
            if size + _PART_LINE_ROOM <= limit:
                lo = mid
            else:
                hi = mid - 1
        ranges.append((start, lo))
        start = lo
    return [_markdown(book, Part(i, len(ranges), a, b))
            for i, (a, b) in enumerate(ranges, start=1)]


def _markdown(book: AccountRunbook, part: Part | None = None) -> str:
    import io

    out = io.StringIO()
    render([book], "markdown", out, part=part)
    return out.getvalue()


def part_name(number: int) -> str:
    """runbook.md, runbook-2.md, ..."""
    return "runbook.md" if number == 1 else f"runbook-{number}.md"


# ------------------------------------------------------------------------------- files


def write(book: AccountRunbook, folder: Path, exports_time: float) -> list[Path]:
    """runbook.{md,html,txt,json} and the import files into ``folder``; their paths."""
    import io

    paths: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in (*folder.glob("import-*.csv"), *folder.glob("runbook-*.md")):
            old.unlink()  # a previous apply's import files and parts are not this runbook's
        for number, text in enumerate(markdown_parts(book), start=1):
            path = folder / part_name(number)
            write_text(path, text)
            paths.append(path)
        for name in FORMATS[1:]:
            out = io.StringIO()
            render([book], name, out)
            path = folder / f"runbook{SUFFIX[name]}"
            write_text(path, out.getvalue())  # a regular file only, atomically
            paths.append(path)
        for f in book.imports:
            path = folder / f.name
            write_sheet(path, f.sheet, list(f.rows))
            paths.append(path)
        record = {
            "runbook_version": RUNBOOK_VERSION,
            "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "exports_time": exports_time,
            "plan": plan_to_json(Plan((book.plan,))),
        }
        path = folder / "runbook.json"
        write_text(path, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        paths.append(path)
    except OSError as e:
        raise ReconcilerError(f"cannot write the runbook into {folder} ({e.strerror or e})") from e
    return paths


def load(path: Path) -> AccountPlan:
    """The account plan a runbook was made from (``path``: its .json, or a sibling file,
    or the folder holding it)."""
    if path.is_dir():
        path = path / "runbook.json"
    elif path.suffix != ".json":
        path = path.with_name("runbook.json")
    shown = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no runbook here (apply writes runbook.json next to the exports)",
                         file=shown) from None
    except (OSError, ValueError) as e:
        raise InputError(f"not a runbook ({type(e).__name__})", file=shown) from None
    if not isinstance(data, dict) or data.get("runbook_version") != RUNBOOK_VERSION:
        raise InputError("not a runbook of this reconciler (runbook_version)", file=shown)
    try:
        plan = plan_from_json(data.get("plan"), shown)
    except PlanFileError as e:
        raise InputError(f"not a runbook ({e.message})", file=shown) from None
    if len(plan.accounts) != 1:
        raise InputError("not a runbook (one account expected)", file=shown)
    return plan.accounts[0]


def runbook_exports_time(path: Path) -> float | None:
    """The time of the exports the runbook at ``path`` (its .json) was made from."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        seen = data.get("exports_time")
        return float(seen) if isinstance(seen, (int, float)) else None
    except (OSError, ValueError, AttributeError):
        return None
