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
from reconciler.render import render, view
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
    assert html.escape(name.replace("\n", " "), quote=False) in page


def test_html_is_one_self_contained_page() -> None:
    page = rendered(sample_plan(), "html")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<style>" in page
    assert "<script" not in page and "<link" not in page and "src=" not in page
    assert "http://" not in page and "https://" not in page
    assert page.count("<details") == 5 and '<details id="account-1" open>' in page


def test_text_strips_terminal_escapes_from_user_text() -> None:
    text = rendered(_named("Eve\x1b[2J\x1b[31mFAKE\u202eevil"), "text")
    assert "\x1b" not in text and "\u202e" not in text
    assert "Eve\ufffd[2J\ufffd[31mFAKE\ufffdevil" in text


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
