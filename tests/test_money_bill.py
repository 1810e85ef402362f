"""The platform's bill, reconciled: the sandbox bills from its own price list (never the
partner's price book); monthly_before is the platform's bill, with the price book's
estimate beside it and a warning when they differ; drift reports the difference."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from apply_helpers import invoke, workspace
from plan_builders import MITEL, actual, au, desired, du, plan_of

from reconciler.money import fmt
from reconciler.planio import load_plan

# the demo's two courtesy users at 6.25 instead of the sample 5.00: 2.50 more a month
BOOK = 'platforms:\n  mitel-connect:\n    products:\n      courtesy: {monthly: "6.25"}\n'
WARNING = "the platform bills 232.00; your price book says 234.50: check pricebook.yaml"


def _northwind(tmp_path: Path, config: str = "") -> Path:
    ws = workspace(tmp_path, demo=("northwind-mitel",), config=config)
    return ws


def test_the_sandbox_bills_by_its_own_list_not_the_price_book(tmp_path: Path) -> None:
    ws = _northwind(tmp_path)
    (ws / "pricebook.yaml").write_text(BOOK)
    shown = json.loads(invoke(ws, "sandbox", "show", "--format", "json").output)
    bills = {a["external_id"]: a["billed_monthly"] for a in shown["accounts"]}
    assert bills["CC-104233"] == "232.00"
    result = invoke(ws, "plan", "--format", "json")
    assert result.exit_code == 0, result.output
    (acct,) = json.loads(result.output)["accounts"]
    assert acct["cost"]["monthly_before"] == "232.00"
    assert acct["cost"]["estimate_before"] == "234.50"
    assert acct["cost"]["monthly_after"] == "230.50"  # the price book's estimate after
    assert acct["cost"]["monthly_delta"] == "-1.50"
    assert WARNING in acct["warnings"]
    text = invoke(ws, "plan").output
    assert f"  warning: {WARNING}\n" in text
    assert ("  cost: monthly 232.00 (billed; price book 234.50) -> 230.50 USD (-1.50), "
            "one-time 45.00 USD") in text
    md = invoke(ws, "plan", "--format", "markdown").output
    assert "232.00 (billed; price book 234.50)" in md and WARNING in md


def test_a_plan_whose_price_book_agrees_with_the_bill_says_nothing(tmp_path: Path) -> None:
    ws = _northwind(tmp_path)
    (acct,) = json.loads(invoke(ws, "plan", "--format", "json").output)["accounts"]
    assert (acct["cost"]["monthly_before"], acct["cost"]["estimate_before"]) == (
        "232.00", "232.00")
    assert not [w for w in acct["warnings"] if "platform bills" in w]
    assert "billed; price book" not in invoke(ws, "plan").output


def test_sandbox_prices_is_the_sandbox_own_price_list(tmp_path: Path) -> None:
    ws = _northwind(tmp_path)
    (ws / "reconciler.yaml").write_text(
        "sandbox: {path: .reconciler/sandbox.db, prices: sandbox-prices.yaml}\n"
        "state: {path: .reconciler/state.db}\n")
    (ws / "sandbox-prices.yaml").write_text(
        'platforms:\n  mitel-connect:\n    products:\n      courtesy: {monthly: "3.75"}\n')
    (acct,) = json.loads(invoke(ws, "plan", "--format", "json").output)["accounts"]
    assert (acct["cost"]["monthly_before"], acct["cost"]["estimate_before"]) == (
        "229.50", "232.00")
    assert ("the platform bills 229.50; your price book says 232.00: check pricebook.yaml"
            in acct["warnings"])


def test_drift_after_apply_reports_a_bill_the_plan_did_not_predict(tmp_path: Path) -> None:
    ws = _northwind(tmp_path)
    (ws / "accounts" / "northwind-mitel.yaml").write_text(
        (ws / "accounts" / "northwind-mitel.yaml").read_text().replace(
            "  max_monthly_increase: 150\n", "  max_monthly_increase: 150\n  prune: true\n"))
    assert invoke(ws, "plan", "-o", "plans/p.json").exit_code == 0
    promised = load_plan(ws / "plans" / "p.json").accounts[0].cost.monthly_after
    assert invoke(ws, "apply", "plans/p.json", "--auto-approve").exit_code == 0
    clean = invoke(ws, "drift")
    assert clean.exit_code == 0, clean.output  # billed as the plan said: no drift
    shown = json.loads(invoke(ws, "sandbox", "show", "--format", "json").output)
    (bill,) = [a["billed_monthly"] for a in shown["accounts"] if a["external_id"] == "CC-104233"]
    assert bill == fmt(promised) == "223.00"
    # the partner's price book now disagrees with what the platform bills
    (ws / "pricebook.yaml").write_text(
        'platforms:\n  mitel-connect:\n    products:\n      courtesy: {monthly: "6.25"}\n')
    drifted = invoke(ws, "drift")
    assert drifted.exit_code == 2
    assert ("  ~ on the platform: the platform bills 223.00 USD/month; the price book says "
            "224.25: check pricebook.yaml") in drifted.output


def test_a_bill_reported_by_any_provider_is_monthly_before() -> None:
    d = desired(MITEL, du(1001, "standard", add_ons=()))
    a = replace(actual(MITEL, au(1001, "standard")), billed_monthly=Decimal("27.10"))
    p = plan_of(d, a)
    assert (p.cost.monthly_before, p.cost.estimate_before) == (Decimal("27.10"),
                                                               Decimal("29.00"))
    assert p.cost.monthly_after == Decimal("29.00")
    assert "the platform bills 27.10; your price book says 29.00: check pricebook.yaml" \
        in p.warnings


def test_a_bill_in_another_currency_is_not_compared(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("contoso-c2t",))
    (ws / "pricebook.yaml").write_text(
        "currency: EUR\nplatforms:\n  call2teams:\n    products:\n"
        '      C2TU25: {monthly: "4.60"}\n      T2TU1: {monthly: "4.50"}\n'
        '      C2TUT: {monthly: 0}\n')
    (acct,) = json.loads(invoke(ws, "plan", "--format", "json").output)["accounts"]
    assert acct["cost"]["monthly_before"] == "124.00" and "estimate_before" not in acct["cost"]
    assert ("the platform bills 135.00 USD; your price book is in EUR, so the bill is not "
            "compared") in acct["warnings"]
