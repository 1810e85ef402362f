from __future__ import annotations

import html
import io
import json
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
from render_sample import CREATED_AT, FP, check_golden, contoso, ipecs, mitel, sample_plan

from reconciler.plan import AccountPlan, Cost, Plan, Step, Verdict
from reconciler.render import render, render_drift, view
from reconciler.render.markdown import LIMIT

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "schemas" / "plan.schema.json").read_text(encoding="utf-8")
)


def rendered(plan: Plan, fmt: str, **kwargs: bool) -> str:
    out = io.StringIO()
    render(plan, fmt, out, **kwargs)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "golden"),
    [("text", "sample.txt"), ("markdown", "sample.md"), ("html", "sample.html"),
     ("json", "sample.json")],
)
def test_golden(fmt: str, golden: str) -> None:
    check_golden(golden, rendered(sample_plan(), fmt))


def test_json_format_is_the_saved_plan_and_matches_the_schema() -> None:
    data = json.loads(rendered(sample_plan(), "json"))
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert data["created_at"] == CREATED_AT


def test_text_uses_each_platforms_words() -> None:
    text = rendered(sample_plan(), "text")
    assert "  ~ Swap 1003 Carol Chen: telephony -> essentials  +8.00/month\n" in text
    assert ("  ~ Change Package 297 9240 Demo: Basic User With VM -> Premium iPECS ONE USER\n"
            in text)
    assert ("  + Amend Subscription C2TU25: quantity 0 -> 26 (+26), "
            "total 0.00 -> 130.00 USD/month  +130.00/month\n") in text
    assert "  -/+ Delete and Re-create User 210 Warehouse" in text
    assert "  ! Service Desk Request C2TU-I25: quantity 10 -> 12 (+2)" in text
    assert "      request: Please amend C2TU-I25 on account C2T-00001 from 10 to 12.\n" in text


def test_text_amend_subscription_shows_old_and_new_total() -> None:
    step = Step("s1", "order_licences", licence="C2TU25", before={"quantity": 25},
                after={"quantity": 30}, monthly_delta=Decimal("25.00"))
    plan = Plan((replace(contoso(), steps=(step,)),), created_at=CREATED_AT)
    assert ("+ Amend Subscription C2TU25: quantity 25 -> 30 (+5), "
            "total 125.00 -> 150.00 USD/month  +25.00/month") in rendered(plan, "text")


def test_text_cost_and_summary_lines() -> None:
    text = rendered(sample_plan(), "text")
    assert "  cost: monthly 250.00 -> 248.50 USD (-1.50), one-time 75.00 USD\n" in text
    assert ("Plan: 4 to add, 11 to change, 4 to remove, 1 manual. "
            "Monthly -10.50 USD, one-time 75.00 USD.\n") in text


def test_text_no_changes() -> None:
    quiet = replace(mitel(), steps=(), blocked=(), unmanaged=(), warnings=(),
                    cost=Cost(Decimal("250.00"), Decimal("250.00"), Decimal("0.00")))
    plan = Plan((quiet,), created_at=CREATED_AT)
    text = rendered(plan, "text")
    assert "  no changes\n" in text
    assert text.endswith("No changes. The platforms match the files. "
                         "Monthly 0.00 USD, one-time 0.00 USD.\n")


def test_text_blocked_verdicts_come_first() -> None:
    text = rendered(sample_plan(), "text")
    lines = text.splitlines()
    assert lines[0] == ("Blocked: 1 account with a blocking verdict; "
                        "this plan cannot be applied.")
    assert lines[1].startswith("  x northwind: 1006 Erin Ellis: downgrade advanced -> standard "
                               "is not allowed")
    section = text[text.index("northwind · "):]
    assert section.index("BLOCKED (downgrade)") < section.index("~ Change Extension")


def test_text_colour_only_when_asked() -> None:
    assert "\x1b[" not in rendered(sample_plan(), "text")
    coloured = rendered(sample_plan(), "text", color=True)
    assert "\x1b[32m+\x1b[0m Add User 1008" in coloured
    assert "\x1b[31m-\x1b[0m Delete User 1011" in coloured


def _named(name: str, email: str = "x@example.com") -> Plan:
    step = Step("s1", "create_user", user=1008,
                after={"extension": 1008, "name": name, "email": email, "profile": "standard"},
                monthly_delta=Decimal("30.00"))
    acct = replace(mitel(), steps=(step,), warnings=(f"name {name}",),
                   unmanaged=({"extension": 1020, "name": name, "profile": "courtesy"},))
    return Plan((acct,), created_at=CREATED_AT)


EVIL = ["<img src=x onerror=alert(1)>", "a | b", "`rm -rf` **bold** [x](javascript:1)",
        "two\nlines | </details><script>alert(1)</script>"]


@pytest.mark.parametrize("name", EVIL)
def test_markdown_escapes_user_text(name: str) -> None:
    md = rendered(_named(name), "markdown")
    assert "<img" not in md and "<script" not in md and "</details><script" not in md
    assert "`rm" not in md and "**bold**" not in md and "](javascript" not in md
    # the step row still has exactly its 10 column separators
    row = next(line for line in md.splitlines() if line.startswith("| s1 |"))
    assert row.count("|") == 10
    assert "\ntwo" not in md and "lines " not in md.split("two", 1)[0]


def test_markdown_escapes_are_entities() -> None:
    md = rendered(_named("<img src=x onerror=alert(1)> a | b"), "markdown")
    assert "| s1 | + | Add User | 1008 &lt;img src=x onerror=alert(1)&gt; a &#124; b |" in md


@pytest.mark.parametrize("name", EVIL)
def test_html_escapes_user_text(name: str) -> None:
    page = rendered(_named(name), "html")
    assert "<img" not in page and "<script" not in page
    assert html.escape(name.replace("\n", "\\n"), quote=False) in page


def test_html_is_one_self_contained_page() -> None:
    page = rendered(sample_plan(), "html")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<style>" in page
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert "http://" not in page and "https://" not in page
    assert page.count("<details") == 5 and '<details id="account-1" open>' in page


def test_text_shows_terminal_escapes_from_user_text_escaped() -> None:
    text = rendered(_named("Eve\x1b[2J\x1b[31mFAKE\u202eevil"), "text")
    assert "\x1b" not in text and "\u202e" not in text
    assert "Eve\\x1b[2J\\x1b[31mFAKE\\u202eevil" in text


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "json"])
def test_mask_emails(fmt: str) -> None:
    plan = _named("Jo Stucker", email="jstucker@vertical.com")
    masked = rendered(plan, fmt, mask_emails=True)
    assert "jstucker" not in masked
    assert "j***@vertical.com" in html.unescape(masked)
    assert "jstucker" in rendered(plan, fmt)


def _big(accounts: int, steps_each: int, *, blocked: set[int] | None = None) -> Plan:
    blocked = blocked or set()
    accts = []
    for i in range(accounts):
        steps = tuple(
            Step(f"s{j}", "change_profile", user=1000 + j,
                 before={"profile": "telephony", "add_ons": []},
                 after={"profile": "essentials", "add_ons": []}, monthly_delta=Decimal("8.00"),
                 params={"name": f"User Number {j} of account {i}"})
            for j in range(steps_each)
        )
        verdicts = (Verdict("budget", f"account-{i:04d} raises the bill too much"),) \
            if i in blocked else ()
        accts.append(AccountPlan(f"account-{i:04d}", "mitel-connect", f"CC-{i}", FP, steps,
                                 Cost(Decimal("100.00"), Decimal("100.00") + 8 * steps_each,
                                      Decimal("0.00")), blocked=verdicts))
    return Plan(tuple(accts), created_at=CREATED_AT)


def test_markdown_of_2000_accounts_fits_with_a_note() -> None:
    plan = _big(2000, 3, blocked={1999})
    md = rendered(plan, "markdown")
    assert len(md) <= LIMIT
    shown = len(re.findall(r"^\| account-\d{4} \|", md, flags=re.M))
    assert 0 < shown < 2000
    hidden = 2000 - shown
    assert f"> … {hidden:,} accounts not shown ({3 * hidden:,} steps) to keep this comment " \
           "within GitHub's size limit; see the plan artifact." in md
    # the blocked account is the one a reviewer must see, even though it is last
    assert "| account-1999 |" in md and "raises the bill too much" in md
    # with the room left, the blocked account keeps its step table
    assert "| s2 | &#126; | Swap | 1002 User Number 2 of account 1999 |" in md
    assert "**Plan: 0 to add, 6000 to change, 0 to remove.**" in md


def test_markdown_folds_the_largest_account_before_cutting() -> None:
    big = _big(1, 1500).accounts[0]
    small = replace(_big(1, 2).accounts[0], account="small")
    plan = Plan((big, small), created_at=CREATED_AT)
    md = rendered(plan, "markdown")
    assert len(md) <= LIMIT
    assert "not shown" not in md
    assert ("_1500 steps (0 to add, 1500 to change, 0 to remove) are not listed, to keep this "
            "comment within GitHub's size limit; see the plan artifact._") in md
    assert "| s1 | &#126; | Swap | 1001 User Number 1 of account 0 |" in md  # small's table


DOWNGRADE = ("downgrade of 1006 from Advanced CLOUD to Standard CLOUD loses add-on "
             "Contact Center Agent and included feature Video Meetings")


def _with_warnings(acct: AccountPlan, warned: dict[int, str]) -> AccountPlan:
    """``acct`` with the steps at the given positions warning the given text."""
    steps = tuple(replace(s, warnings=(warned[j],)) if j in warned else s
                  for j, s in enumerate(acct.steps))
    return replace(acct, steps=steps)


def test_markdown_folded_step_table_keeps_its_step_warnings() -> None:
    huge = _with_warnings(_big(1, 3000).accounts[0], {1006: DOWNGRADE})
    huge = replace(huge, warnings=("prices are sample list prices",),
                   blocked=(Verdict("budget", "raises the monthly bill by 24000.00 USD"),))
    md = rendered(Plan((huge,), created_at=CREATED_AT), "markdown")
    assert len(md) <= LIMIT
    assert "_3000 steps (0 to add, 3000 to change, 0 to remove) are not listed" in md
    # the step warning is listed under Losses, above the sections, with account and step
    losses = md.index("> **Losses:**")
    line = f"> - **account-0000** s1006 2006 User Number 1006 of account 0: ⚠️ {DOWNGRADE}\n"
    assert md.index(line, losses) < md.index("<details")
    assert "their step warnings are under **Losses** above" in md
    assert "- prices are sample list prices\n" in md
    assert "- raises the monthly bill by 24000.00 USD (budget)\n" in md
    assert "folded into counts, their step warnings listed under **Losses**; see the plan" in md


def test_markdown_lists_step_warnings_in_part_only_as_a_last_resort() -> None:
    # every one of 3000 steps warns: the list itself is over the limit
    big = _big(1, 3000).accounts[0]
    huge = _with_warnings(big, {j: f"{DOWNGRADE} ({j})" for j in range(3000)})
    huge = replace(huge, warnings=("prices are sample list prices",),
                   blocked=(Verdict("budget", "raises the monthly bill by 24000.00 USD"),))
    md = rendered(Plan((huge,), created_at=CREATED_AT), "markdown")
    assert len(md) <= LIMIT
    listed = len(re.findall(r"^> - \*\*account-0000\*\* s\d+ \d+ User Number .*: ⚠️ downgrade",
                            md, flags=re.M))
    assert 100 < listed < 3000
    assert f"{DOWNGRADE} (0)" in md  # the first ones, in plan order
    assert (f"> - **account-0000**: _… and {3000 - listed:,} more step warnings, not listed to "
            "keep this comment within GitHub's size limit; see the plan artifact._\n") in md
    assert f"listed under **Losses** ({3000 - listed:,} of those only counted)" in md
    assert "- prices are sample list prices\n" in md  # account warnings are never folded
    assert "raises the monthly bill by 24000.00 USD (budget)" in md
    assert "not shown" not in md


def test_markdown_small_accounts_keep_their_warnings_next_to_a_folded_one() -> None:
    big = _big(1, 1500).accounts[0]
    warned = replace(_with_warnings(_big(1, 2).accounts[0], {1: DOWNGRADE}), account="warned")
    md = rendered(Plan((big, warned), created_at=CREATED_AT), "markdown")
    assert len(md) <= LIMIT and "not shown" not in md
    # the small account keeps its step table, its warning in the step's row
    assert ("| s1 | &#126; | Swap | 1001 User Number 1 of account 0 | telephony\u00a0→\u00a0"
            f"essentials<br>⚠️ {DOWNGRADE} |") in md
    # and under Losses above the sections, like the folded account's would be
    assert f"> - **warned** s1 1001 User Number 1 of account 0: ⚠️ {DOWNGRADE}\n" in md
    assert "_1500 steps (0 to add, 1500 to change, 0 to remove) are not listed" in md


def test_markdown_under_the_limit_is_neither_folded_nor_cut() -> None:
    md = rendered(sample_plan(), "markdown")
    assert "not shown" not in md and "not listed" not in md


def test_view_counts_and_totals() -> None:
    data = view(Plan((mitel(), ipecs()), created_at=CREATED_AT))
    assert data["accounts"][0]["counts"] == {"add": 1, "change": 6, "remove": 1, "manual": 0}
    # a replace is one removed and one added, like Terraform's -/+
    assert data["accounts"][1]["counts"] == {"add": 2, "change": 4, "remove": 2, "manual": 0}
    assert data["summary"]["totals"] == [
        {"currency": "USD", "monthly_delta": "+11.50", "one_time": "75.00"}
    ]


def test_view_totals_per_currency() -> None:
    eur = replace(ipecs(), cost=Cost(Decimal("10.00"), Decimal("12.00"), Decimal("1.00"), "EUR"))
    data = view(Plan((mitel(), eur), created_at=CREATED_AT))
    assert data["summary"]["totals"] == [
        {"currency": "EUR", "monthly_delta": "+2.00", "one_time": "1.00"},
        {"currency": "USD", "monthly_delta": "-1.50", "one_time": "75.00"},
    ]


def _drifted(account: str, users: int) -> AccountPlan:
    steps = tuple(
        Step(f"s{j}", "create_user", user=3000 + j,
             after={"extension": 3000 + j, "name": f"Bulk User {j}", "profile": "advanced"})
        for j in range(users)
    )
    return replace(mitel(), account=account, steps=steps, unmanaged=(), drift=())


def drift_markdown(plan: Plan) -> str:
    out = io.StringIO()
    assert render_drift(plan, "markdown", out)
    return out.getvalue()


def test_drift_markdown_lists_a_big_account_in_part() -> None:
    md = drift_markdown(Plan((_drifted("northwind", 1500),), created_at=CREATED_AT))
    assert len(md) <= LIMIT
    assert "**Drift: 1500 differences in 1 of 1 account.**" in md
    assert "<summary><b>northwind</b> · Mitel Connect CLOUD CC-104233 · 1500 differences" in md
    rows = re.findall(r"^\| there is no user (\d+) \|", md, flags=re.M)
    assert rows[:2] == ["3000", "3001"] and 100 < len(rows) < 1500
    assert (f"_… and {1500 - len(rows):,} more differences, not listed to keep this report "
            "within GitHub's size limit; run `reconciler drift` locally for all of them._") in md
    assert "not shown" not in md


def test_drift_markdown_shares_the_room_between_big_accounts() -> None:
    plan = Plan((_drifted("first", 1500), _drifted("second", 1500), _drifted("small", 3)),
                created_at=CREATED_AT)
    md = drift_markdown(plan)
    assert len(md) <= LIMIT
    sections = md.split("<details open>")[1:]
    assert [s.count("| there is no user") for s in sections][2] == 3
    first, second = (s.count("| there is no user") for s in sections[:2])
    assert first >= second > 100
    assert "small" in sections[2] and "more differences" not in sections[2]


def test_drift_markdown_leaves_out_accounts_only_when_their_headings_do_not_fit() -> None:
    plan = Plan(tuple(_drifted(f"account-{i:04d}", 1) for i in range(1000)),
                created_at=CREATED_AT)
    md = drift_markdown(plan)
    assert len(md) <= LIMIT
    shown = md.count("<details open>")
    assert 0 < shown < 1000
    assert (f"> … {1000 - shown} accounts with drift not shown to keep this report within "
            "GitHub's size limit") in md
