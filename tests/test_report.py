"""``reconciler report``: the fleet view from live state and files, to the cent: idle
licences still billed and the money they waste, cost, revenue and margin, trials ending,
pending orders and Service Desk requests; text, JSON, CSV for a spreadsheet, HTML."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from apply_helpers import invoke, open_sandbox, workspace

from reconciler.model import ChangeOrder
from reconciler.sandbox.demo import demo_accounts


def _report(ws: Path, *args: str) -> dict[str, Any]:
    result = invoke(ws, "report", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _by_account(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["account"]: a for a in data["accounts"]}


def test_the_demo_fleet_to_the_cent(tmp_path: Path) -> None:
    data = _report(workspace(tmp_path))
    accounts = _by_account(data)
    contoso = accounts["contoso"]
    # C2TU25: 25 held, 6 users on it: 19 idle at 5.00 = 95.00 a month billed for nothing
    assert [(r["licence"], r["held"], r["used"], r["idle"], r["waste"])
            for r in contoso["licences"]] == [
        ("C2TU25", 25, 6, 19, "95.00"), ("C2TUT", 2, 2, 0, "0.00"), ("T2TU1", 2, 2, 0, "0.00")]
    assert (contoso["cost"], contoso["revenue"], contoso["margin"]) == ("135.00", None, None)
    assert contoso["trials_ending"] == [
        {"licence": "C2TUT", "quantity": 2, "ends_on": "2026-11-07", "days_left": 5}]
    northwind = accounts["northwind"]
    assert (northwind["cost"], northwind["revenue"], northwind["margin"], northwind["waste"]) \
        == ("232.00", "266.80", "34.80", "0.00")
    internal = accounts["partner-internal"]
    assert (internal["idle"], internal["waste"]) == (7, "14.00")
    assert internal["service_desk"] == [{
        "step": "s1", "target": "C2TU-I25",
        "request": "Please amend subscription C2TU-I25 on account C2T-00001 (Partner "
                   "Internal) from 10 to 12 licences."}]
    platforms = {p["platform"]: p for p in data["platforms"]}
    assert (platforms["call2teams"]["idle"], platforms["call2teams"]["waste"],
            platforms["call2teams"]["cost"]) == (26, "109.00", "155.00")
    assert data["totals"] == [{
        "currency": "USD", "accounts": 4, "users": 26, "held": 52, "used": 26, "idle": 26,
        "waste": "109.00", "cost": "477.00", "revenue": "266.80", "margin": "34.80"}]


def test_text_shows_the_waste_and_the_margin(tmp_path: Path) -> None:
    result = invoke(workspace(tmp_path), "report")
    assert result.exit_code == 0
    assert ("  waste: C2TU25: 19 of 25 idle, 95.00 USD/month billed for nothing"
            in result.output.splitlines())
    assert "  monthly: cost 232.00 USD, revenue 266.80, margin 34.80" in result.output
    assert "  trial C2TUT (2) ends on 2026-11-07 (in 5 days)" in result.output


def test_pending_orders_and_idle_ipecs_seats(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("vertical-demo",))
    box = open_sandbox(ws)
    vertical = demo_accounts()[0]
    pool = tuple(replace(lic, quantity=lic.quantity + 2) if lic.key == "Basic User With VM"
                 else lic for lic in vertical.licences)
    box.load_state([replace(vertical, licences=pool, orders=(
        ChangeOrder("503040", "Premium iPECS ONE USER", 1, "submitted", date(2026, 10, 30)),))])
    box.close()
    (acct,) = _report(ws)["accounts"]
    assert acct["pending_orders"] == [{"order_id": "503040", "licence": "Premium iPECS ONE USER",
                                       "delta": 1, "state": "submitted",
                                       "submitted_on": "2026-10-30"}]
    basic = next(r for r in acct["licences"] if r["licence"] == "Basic User With VM")
    assert (basic["held"], basic["used"], basic["idle"], basic["waste"]) == (5, 3, 2, "28.00")


def test_csv_opens_in_a_spreadsheet_as_is(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    hostile = ws / "accounts" / "vertical-demo.yaml"
    hostile.write_text(hostile.read_text().replace("name: Vertical Demo",
                                                   'name: "=HYPERLINK(\\"http://x\\")"', 1))
    result = invoke(ws, "report", "--format", "csv", "-o", "plans/report.csv")
    assert result.exit_code == 0, result.output
    raw = (ws / "plans" / "report.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: a spreadsheet reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["account"] for r in rows] == ["contoso", "northwind", "partner-internal",
                                            "vertical-demo"]
    assert (rows[0]["idle"], rows[0]["waste"], rows[0]["cost"]) == ("19", "95.00", "135.00")
    assert (rows[1]["revenue"], rows[1]["margin"]) == ("266.80", "34.80")
    # a formula in a file never runs in the partner's spreadsheet
    assert rows[3]["customer"] == "'=HYPERLINK(\"http://x\")"


def test_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    path = ws / "accounts" / "northwind-mitel.yaml"
    path.write_text(path.read_text().replace("name: Northwind Traders",
                                             'name: "<script>alert(1)</script>"', 1))
    result = invoke(ws, "report", "--format", "html")
    assert result.exit_code == 0, result.output
    page = result.output
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert page.count("<svg") == 2 and "default-src 'none'" in page
    assert 'data-account="contoso" data-field="waste">95.00<' in page
