"""The runbook's three renderings and the Call2Teams import files."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from reconciler.plan import AccountPlan, Cost, Plan, Step
from reconciler.portal.runbook import build, render, render_plan, write

EVIL = '<img src=x onerror=alert(1)> | @admin `rm` \x1b[31m\u202eevil'


def c2t_plan(new_users: int) -> AccountPlan:
    steps = tuple(
        Step(id=f"s{i}", action="create_user", user=3000 + i, name=f"User {i}",
             after={"extension": 3000 + i, "name": f"User {i}", "email": f"u{i}@x.example",
                    "profile": "pbx", "licence": "C2TU25"},
             label="Add User")
        for i in range(1, new_users + 1)
    )
    return AccountPlan("acme", "call2teams", "C2T-1", "sha256:x", steps,
                       Cost(Decimal("0"), Decimal("0"), Decimal("0")))


def mitel_plan(name: str) -> AccountPlan:
    swap = Step(id="s1", action="change_profile", user=1003, name=name, label="Swap",
                before={"profile": "telephony", "add_ons": ["call-recording"]},
                after={"profile": "essentials", "add_ons": ["call-recording", "fax"]},
                monthly_delta=Decimal("7.00"))
    add = Step(id="s2", action="create_user", user=1007, name="Frank", label="Add User",
               after={"extension": 1007, "name": "Frank", "profile": "standard",
                      "add_ons": ["teams-integration"]},
               monthly_delta=Decimal("29.00"), one_time=Decimal("45.00"), depends_on=("s1",))
    return AccountPlan("northwind", "mitel-connect", "CC-1", "sha256:x", (swap, add),
                       Cost(Decimal("232.00"), Decimal("268.00"), Decimal("45.00"), "EUR"))


def rendered(account: AccountPlan, fmt: str) -> str:
    out = io.StringIO()
    render([build(account)], fmt, out)
    return out.getvalue()


def test_markdown_numbers_the_steps_with_checkboxes_click_paths_and_money() -> None:
    text = rendered(mitel_plan("Carol Chen"), "markdown")
    assert ("- [ ] **1. Swap 1003 Carol Chen: Telephony CLOUD -&gt; Essentials CLOUD** · "
            "monthly +7.00 EUR") in text
    assert "  5. Under New Product Type, in the Product Type list, select Essentials CLOUD." \
        in text
    assert ("  6. In the Enabled column of the Add-On grid, select the check box of exactly "
            "these add-on features: Call Recording, Fax (clear any other).") in text
    assert ("- [ ] **2. Add User 1007 Frank: Standard CLOUD** · monthly +29.00 EUR · "
            "one-time 45.00 EUR · after step 1") in text
    assert "Monthly 232.00 → 268.00 EUR (+36.00), one-time 45.00 EUR." in text


def test_hostile_names_are_inert_in_every_format() -> None:
    plan = mitel_plan(EVIL)
    md = rendered(plan, "markdown")
    assert "<img" not in md and "&lt;img" in md and "&#124;" in md and "@admin" not in md
    html = rendered(plan, "html")
    assert "<img" not in html and "&lt;img src=x" in html
    assert '<input type="checkbox"> 1. Swap 1003' in html
    text = rendered(plan, "text")
    assert "\x1b" not in text and "\u202e" not in text
    assert "[ ] 1. Swap 1003 <img src=x" in text


def test_call2teams_bulk_additions_come_in_import_files_of_at_most_50_rows(
    tmp_path: Path,
) -> None:
    book = build(c2t_plan(120))
    assert [(f.name, len(f.rows)) for f in book.imports] == [
        ("import-users-1.csv", 50), ("import-users-2.csv", 50), ("import-users-3.csv", 20)]
    paths = write(book, tmp_path / "C2T-1", 0.0)
    assert {p.name for p in paths} >= {"import-users-1.csv", "import-users-3.csv",
                                        "runbook.md", "runbook.json"}
    with (tmp_path / "C2T-1" / "import-users-2.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["SIPUsername", "Name", "Email", "PhoneNumber", "AuthUsername",
                       "ExternalId"]
    assert rows[1][:3] == ["3051", "User 51", "u51@x.example"]
    md = (tmp_path / "C2T-1" / "runbook.md").read_text()
    assert "- import-users-3.csv: 20 user(s), steps 101, 102," in md
    assert "Either import import-users-3.csv (this user is row 2) with the bulk import" in md


def test_plan_format_runbook_says_when_there_is_nothing_to_do() -> None:
    out = io.StringIO()
    render_plan(Plan(()), "markdown", out)
    assert out.getvalue() == "No steps: every account is as its file says.\n"


def test_a_runbook_longer_than_a_github_issue_is_written_in_parts(tmp_path: Path) -> None:
    """GitHub refuses an issue body over 65,536 characters: runbook.md, runbook-2.md, ...
    each fit, split between steps, every step once and in order; the totals in part 1."""
    import re

    from reconciler.portal.runbook import ISSUE_LIMIT

    book = build(c2t_plan(400))
    assert len(rendered(c2t_plan(400), "markdown")) > ISSUE_LIMIT
    folder = tmp_path / "C2T-1"
    folder.mkdir()
    (folder / "runbook-7.md").write_text("a part of an earlier, longer runbook")
    paths = write(book, folder, 0.0)
    parts = sorted(folder.glob("runbook*.md"), key=lambda p: (len(p.name), p.name))
    assert [p.name for p in parts] == ["runbook.md", "runbook-2.md", "runbook-3.md"]
    assert set(parts) <= set(paths)
    texts = [p.read_text() for p in parts]
    assert all(len(t) <= ISSUE_LIMIT for t in texts)
    numbers = [int(n) for t in texts for n in re.findall(r"^- \[ \] \*\*(\d+)\.", t, re.M)]
    assert numbers == list(range(1, 401))
    for i, t in enumerate(texts, start=1):
        assert t.startswith("## Runbook: acme · Call2Teams C2T-1\n\n"
                            f"**Part {i} of 3**: steps "), t[:200]
        assert ("Monthly 0.00 → 0.00 USD" in t) == (i == 1)
    assert "start this part when part 2 is done" in texts[2]


def test_a_runbook_that_fits_is_one_file_without_parts(tmp_path: Path) -> None:
    write(build(c2t_plan(3)), tmp_path, 0.0)
    assert sorted(p.name for p in tmp_path.glob("runbook*.md")) == ["runbook.md"]
    assert "Part 1" not in (tmp_path / "runbook.md").read_text()
