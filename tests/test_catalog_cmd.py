"""`reconciler catalog`: products, add-ons and prices per platform, samples labelled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli

SAMPLE = "SAMPLE list prices — override them in pricebook.yaml"


@pytest.fixture(autouse=True)
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no reconciler.yaml, no pricebook.yaml
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["catalog", *args])


def test_text_lists_every_platform_with_the_sample_label() -> None:
    result = run()
    assert result.exit_code == 0
    out = result.stdout
    for heading in (
        "Mitel Connect CLOUD (mitel-connect) — prices in USD",
        "iPECS Cloud (ipecs-cloud) — prices in USD",
        "Call2Teams (call2teams) — prices in USD",
    ):
        assert heading in out
    assert out.count(SAMPLE) == 3


def test_text_mitel_rows() -> None:
    lines = run("--platform", "mitel-connect").stdout.splitlines()
    assert lines[:2] == ["Mitel Connect CLOUD (mitel-connect) — prices in USD", SAMPLE]
    courtesy = next(line for line in lines if "Courtesy CLOUD" in line).split()
    assert courtesy == ["0", "courtesy", "Courtesy", "CLOUD", "5.00", "0.00", "-", "-"]
    advanced = next(line for line in lines if "Advanced CLOUD" in line)
    assert "conferencing, mobility, video, voicemail" in advanced
    assert "call-recording, contact-center, fax, recording-archive, teams-integration" in advanced
    archive = next(line for line in lines if line.strip().startswith("recording-archive"))
    assert archive.split() == [
        "recording-archive",
        "Recording",
        "Archive",
        "3.00",
        "0.00",
        "call-recording",
    ]
    teams = next(line for line in lines if line.strip().startswith("teams-integration"))
    assert teams.split()[-3:] == ["0.00", "25.00", "-"]


def test_text_call2teams_rows_show_kind_tier_trial_internal() -> None:
    lines = run("--platform", "call2teams").stdout.splitlines()
    rows = {line.split()[1]: line for line in lines if line.startswith("  ") and "User" in line}
    assert rows["C2TU250"].split()[-5:] == ["3.50", "0.00", "pbx", "250", "-"]
    assert rows["C2TUT"].rstrip().endswith("trial, 30 days")
    assert rows["C2TU-I25"].rstrip().endswith("internal use")
    assert "T2TU80" in rows and "trunk" in rows["T2TU80"]
    assert "Add-ons: none on this platform." in lines


def test_json_has_products_add_ons_prices_as_strings() -> None:
    result = run("--format", "json", "--platform", "mitel-connect")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    (mitel,) = data["platforms"]
    assert mitel["platform"] == "mitel-connect"
    assert mitel["currency"] == "USD"
    assert mitel["sample_prices"] is True
    assert mitel["note"] == SAMPLE
    assert [p["key"] for p in mitel["products"]] == [
        "courtesy",
        "telephony",
        "essentials",
        "standard",
        "advanced",
    ]
    standard = mitel["products"][3]
    assert standard["monthly"] == "29.00" and standard["one_time"] == "20.00"
    assert standard["included"] == ["conferencing", "mobility", "voicemail"]
    archive = next(a for a in mitel["add_ons"] if a["key"] == "recording-archive")
    assert archive == {
        "key": "recording-archive",
        "display": "Recording Archive",
        "monthly": "3.00",
        "one_time": "0.00",
        "requires": ["call-recording"],
        "sample": True,
        "price_currency": "USD",
    }


def test_json_call2teams_fields() -> None:
    (c2t,) = json.loads(run("--format", "json", "--platform", "call2teams").stdout)["platforms"]
    internal = next(p for p in c2t["products"] if p["key"] == "C2TU-I25")
    assert (internal["user_kind"], internal["tier"], internal["internal"]) == ("internal", 25, True)
    trial = next(p for p in c2t["products"] if p["key"] == "T2TUT")
    assert (trial["user_kind"], trial["trial"], trial["monthly"]) == ("trunk", True, "0.00")


def test_price_book_prices_and_label(here: Path) -> None:
    (here / "pricebook.yaml").write_text(
        "currency: EUR\nplatforms:\n  ipecs-cloud:\n    products:\n"
        '      Stand Alone VM: {monthly: "3.10"}\n'
    )
    lines = run("--platform", "ipecs-cloud").stdout.splitlines()
    assert lines[0] == "iPECS Cloud (ipecs-cloud) — prices in EUR"
    assert lines[1] == "some prices are SAMPLE list prices — override them in pricebook.yaml"
    row = next(line for line in lines if line.strip().startswith("0"))
    assert "3.10" in row.split()


def test_a_bad_price_book_is_one_line(here: Path) -> None:
    (here / "pricebook.yaml").write_text(
        "platforms:\n  ipecs-cloud: {products: {x: {monthly: 1}}}\n"
    )
    result = run()
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        'pricebook.yaml:2:28: unknown package "x"; expected one of: Stand Alone VM, '
        "Basic User With VM, Premium iPECS ONE USER, Premium PLUS iPECS ONE USER"
    ]


def test_unknown_platform_option() -> None:
    result = run("--platform", "mitel")
    assert result.exit_code == 1
    assert "'mitel' is not one of" in result.output


def test_help_ends_with_examples() -> None:
    out = CliRunner().invoke(cli, ["catalog", "--help"]).output.rstrip().splitlines()
    assert out[-1].strip() == "reconciler catalog --format json | jq '.platforms[0].products'"
