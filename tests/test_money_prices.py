"""Plans say which prices are the shipped samples (per step, per account, in the summary),
and a price book in another currency than the samples must price everything a plan uses:
a sample is never relabelled."""

from __future__ import annotations

import json
from pathlib import Path

from apply_helpers import invoke, workspace

from reconciler.planio import load_plan


def _plan_json(ws: Path, *args: str) -> dict:
    result = invoke(ws, "plan", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_demo_plan_says_every_price_is_a_sample(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    data = _plan_json(ws)
    assert data["summary"]["prices"] == {"used": 17, "from_samples": 17}
    contoso = data["accounts"][0]
    assert contoso["cost"]["prices"] == {"used": ["C2TU25", "C2TUT", "T2TU1"],
                                         "from_samples": ["C2TU25", "C2TUT", "T2TU1"]}
    assert contoso["steps"][0]["sample_prices"] == ["C2TU25"]
    text = invoke(ws, "plan").output
    assert ("  + Amend Subscription C2TU25: quantity 25 -> 30 (+5), total 125.00 -> 150.00 "
            "USD/month  +25.00/month  (sample price)") in text
    assert "  cost: monthly 135.00 -> 160.00 USD (+25.00), one-time 0.00 USD; prices: 3 of 3 " \
           "from samples" in text
    assert ("Prices: 17 of 17 from samples (SAMPLE list prices, not yours: set them in "
            "pricebook.yaml).") in text
    md = invoke(ws, "plan", "--format", "markdown").output
    assert "Prices: 17 of 17 from samples" in md and "| +25.00 (sample) |" in md
    html = invoke(ws, "plan", "--format", "html").output
    assert "Prices: 17 of 17 from samples" in html


def test_a_price_from_the_book_is_no_longer_labelled_sample(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("contoso-c2t",))
    (ws / "pricebook.yaml").write_text(
        'platforms:\n  call2teams:\n    products:\n      C2TU25: {monthly: "4.80"}\n')
    data = _plan_json(ws)
    assert data["summary"]["prices"] == {"used": 3, "from_samples": 2}
    step = data["accounts"][0]["steps"][0]
    assert (step["monthly_delta"], step["sample_prices"]) == ("24.00", [])
    assert data["accounts"][0]["cost"]["prices"]["from_samples"] == ["C2TUT", "T2TU1"]
    text = invoke(ws, "plan").output
    assert "+24.00/month\n" in text and "prices: 2 of 3 from samples" in text


def test_a_book_in_another_currency_must_price_everything_the_plan_uses(
        tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("contoso-c2t", "northwind-mitel"))
    (ws / "pricebook.yaml").write_text(
        "# partner prices\ncurrency: EUR\nplatforms:\n  call2teams:\n    products:\n"
        '      C2TU25: {monthly: "4.60"}\n')
    result = invoke(ws, "plan")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        "pricebook.yaml:2:1: currency EUR: the plan uses prices this price book does not give "
        "(call2teams: C2TUT, T2TU1; mitel-connect: add-on call-recording, add-on "
        "contact-center, add-on fax, add-on recording-archive, add-on teams-integration, "
        "advanced, courtesy, essentials, standard, telephony); the samples are USD and are "
        "never relabelled as EUR: price them here")
    assert "cost:" not in result.output  # no plan priced half in relabelled samples


def test_a_complete_book_in_another_currency_prices_the_plan_in_it(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("contoso-c2t",))
    (ws / "pricebook.yaml").write_text(
        "currency: EUR\nplatforms:\n  call2teams:\n    products:\n"
        '      C2TU25: {monthly: "4.60"}\n      T2TU1: {monthly: "4.50"}\n'
        '      C2TUT: {monthly: 0}\n')
    data = _plan_json(ws)
    contoso = data["accounts"][0]
    assert contoso["cost"]["currency"] == "EUR"
    assert (contoso["cost"]["monthly_before"], contoso["cost"]["monthly_after"]) == (
        "124.00", "147.00")
    assert data["summary"]["prices"] == {"used": 3, "from_samples": 0}
    assert "prices: all 3 from the price book" in invoke(ws, "plan").output


def test_sample_labels_survive_a_saved_plan(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("contoso-c2t",))
    assert invoke(ws, "plan", "-o", "plans/p.json").exit_code == 0
    plan = load_plan(ws / "plans" / "p.json")
    assert plan.accounts[0].steps[0].sample_prices == ("C2TU25",)
    assert plan.accounts[0].cost.prices_sample == ("C2TU25", "C2TUT", "T2TU1")
    assert "(sample price)" in invoke(ws, "show", "plans/p.json").output
