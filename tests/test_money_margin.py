"""Cost, price and margin: the price book's cost (what the vendor bills) and customer price,
or a markup per platform, overridable per account; plans show per step and per account the
monthly cost, revenue and margin change, and the PR summary table has margin columns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from apply_helpers import invoke, workspace

NORTHWIND = "accounts/northwind-mitel.yaml"


def _plan(ws: Path) -> dict[str, Any]:
    result = invoke(ws, "plan", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _margins(step: dict[str, Any]) -> tuple[str, str, str]:
    return step["monthly_delta"], step["revenue_delta"], step["margin_delta"]


def test_the_demo_account_markup_gives_revenue_and_margin(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    (acct,) = _plan(ws)["accounts"]
    cost = acct["cost"]
    assert {k: cost[k] for k in ("monthly_before", "monthly_after", "revenue_before",
                                 "revenue_after", "revenue_delta", "margin_before",
                                 "margin_after", "margin_delta")} == {
        "monthly_before": "232.00", "monthly_after": "228.00",
        "revenue_before": "266.80", "revenue_after": "262.20", "revenue_delta": "-4.60",
        "margin_before": "34.80", "margin_after": "34.20", "margin_delta": "-0.60"}
    # cost +15% per licence, rounded to the cent per licence
    assert [_margins(s) for s in acct["steps"]] == [
        ("7.00", "8.05", "1.05"), ("-40.00", "-46.00", "-6.00"), ("29.00", "33.35", "4.35")]
    text = invoke(ws, "plan").output
    assert ("  margin: revenue 266.80 -> 262.20 USD (-4.60), margin 34.80 -> 34.20 USD (-0.60)"
            in text)
    assert "+7.00/month  (sample price)  revenue +8.05, margin +1.05" in text


def test_the_pr_summary_table_has_margin_columns(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel", "contoso-c2t"))
    md = invoke(ws, "plan", "--format", "markdown").output
    assert ("| account | platform | add | change | remove | manual | monthly | one-time | "
            "margin | margin Δ | warnings | blocked |") in md
    assert ("| northwind | Mitel Connect CLOUD | 1 | 2 | 0 | 0 | -4.00 USD | 45.00 USD | "
            "34.20 USD | -0.60 USD |") in md
    assert "| contoso | Call2Teams | 1 | 0 | 0 | 0 | +25.00 USD | 0.00 USD | – | – |" in md
    assert "Margin: revenue -4.60, margin -0.60 a month (34.20 a month after the plan" in md
    html = invoke(ws, "plan", "--format", "html").output
    assert "<th>margin</th><th>margin Δ</th>" in html and "34.20 USD" in html


def _without_account_markup(ws: Path) -> None:
    path = ws / NORTHWIND
    text = path.read_text()
    assert "pricing:" in text
    kept = [line for line in text.splitlines()
            if "pricing:" not in line and "markup: 15" not in line]
    path.write_text("\n".join(kept) + "\n")


def test_the_price_book_markup_per_platform_and_the_account_override(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    (ws / "pricebook.yaml").write_text("platforms:\n  mitel-connect:\n    markup: 20\n")
    # the account's pricing.markup (15) wins over the price book's 20
    assert _plan(ws)["accounts"][0]["cost"]["revenue_before"] == "266.80"
    _without_account_markup(ws)
    (acct,) = _plan(ws)["accounts"]
    assert (acct["cost"]["revenue_before"], acct["cost"]["margin_before"]) == ("278.40", "46.40")
    assert _margins(acct["steps"][0]) == ("7.00", "8.40", "1.40")


def test_cost_and_price_per_product(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    _without_account_markup(ws)
    (ws / "pricebook.yaml").write_text(
        "platforms:\n  mitel-connect:\n    markup: 20\n    products:\n"
        '      standard: {cost: "25.00", price: "32.00"}\n')
    (acct,) = _plan(ws)["accounts"]
    frank = acct["steps"][2]
    assert frank["user"] == 1007
    # standard: its own price (32.00), not cost + 20%; teams-integration has no monthly
    assert _margins(frank) == ("25.00", "32.00", "7.00")
    # advanced -> standard, dropping contact-center: cost 25.00 - 39.00 - 30.00; revenue
    # 32.00 - 46.80 (39.00 + 20%) - 36.00 (30.00 + 20%)
    erin = acct["steps"][1]
    assert _margins(erin) == ("-44.00", "-50.80", "-6.80")


def test_without_customer_prices_no_margin_is_claimed(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("contoso-c2t",))
    data = _plan(ws)
    (acct,) = data["accounts"]
    assert "revenue_before" not in acct["cost"] and "margin_delta" not in data["summary"]
    assert "revenue_delta" not in acct["steps"][0]
    assert "margin:" not in invoke(ws, "plan").output


def test_a_bad_markup_is_refused_at_its_line(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    path = ws / NORTHWIND
    path.write_text(path.read_text().replace("markup: 15", "markup: lots"))
    result = invoke(ws, "validate")
    assert result.exit_code == 1
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "lots" in text)
    assert result.output.startswith(f"{NORTHWIND}:{line}:")
