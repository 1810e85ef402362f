"""Call2Teams tiers: a quantity below its SKU's threshold is refused at validate with the
SKU that fits; the plan points out a cheaper tier for the count, with the monthly saving."""

from __future__ import annotations

from pathlib import Path

from apply_helpers import invoke, workspace
from plan_builders import C2T, actual, au, desired, du, plan_of

HEAD = """\
account: tiers
platform: call2teams
external_id: C2T-30001
name: Tiers Ltd
kind: client
"""


def test_declared_quantity_below_its_tier_is_refused_with_the_sku_that_fits(
        tmp_path: Path) -> None:
    yaml = HEAD + "licences:\n  C2TU25: 10\n  T2TU80: 30\nusers: []\n"
    ws = workspace(tmp_path, accounts={"tiers.yaml": yaml})
    result = invoke(ws, "validate")
    assert result.exit_code == 1
    assert result.output.splitlines()[:2] == [
        "accounts/tiers.yaml:7:3: licences: C2TU25 is the 25+ tier: 10 licences are below "
        "its threshold of 25; use C2TU1 for 10",
        "accounts/tiers.yaml:8:3: licences: T2TU80 is the 80+ tier: 30 licences are below "
        "its threshold of 80; use T2TU25 for 30",
    ]


def test_users_on_a_tier_without_declared_licences_count_as_its_quantity(
        tmp_path: Path) -> None:
    yaml = HEAD + ("users:\n  - {extension: 1, name: A, profile: pbx, licence: C2TU80}\n"
                   "  - {extension: 2, name: B, profile: pbx, licence: C2TU80}\n")
    ws = workspace(tmp_path, accounts={"tiers.yaml": yaml})
    result = invoke(ws, "validate")
    assert result.exit_code == 1
    assert ("accounts/tiers.yaml:7:52: licence: C2TU80 is the 80+ tier: 2 licences are below "
            "its threshold of 80; use C2TU1 for 2") in result.output


def test_quantity_at_the_threshold_is_valid(tmp_path: Path) -> None:
    yaml = HEAD + "licences:\n  C2TU25: 25\n  T2TU1: 1\n  C2TUT: 2\nusers: []\n"
    ws = workspace(tmp_path, accounts={"tiers.yaml": yaml})
    assert invoke(ws, "validate").exit_code == 0


def _pbx(n: int, sku: str) -> tuple[list, list]:
    return ([du(3000 + i, "pbx", licence=sku) for i in range(n)],
            [au(3000 + i, "pbx", licence=sku) for i in range(n)])


def test_eighty_users_on_c2tu25_are_told_c2tu80_saves_60_a_month() -> None:
    want, have = _pbx(80, "C2TU25")
    p = plan_of(desired(C2T, *want, licences={"C2TU25": 80}),
                actual(C2T, *have, licences={"C2TU25": 80}))
    assert p.steps == ()
    assert list(p.warnings) == [
        "cheaper tier: 80 licences of C2TU25 bill 400.00 USD/month; on C2TU80 (80+) they "
        "would bill 340.00, saving 60.00 USD/month (order C2TU80 for the full count, move "
        "the users, return C2TU25)"
    ]


def test_the_note_uses_the_quantity_after_the_plan() -> None:
    want, have = _pbx(30, "C2TU25")
    p = plan_of(desired(C2T, *want, licences={"C2TU25": 250}),
                actual(C2T, *have, licences={"C2TU25": 30}))
    assert [w for w in p.warnings if w.startswith("cheaper tier")] == [
        "cheaper tier: 250 licences of C2TU25 bill 1250.00 USD/month; on C2TU250 (250+) they "
        "would bill 875.00, saving 375.00 USD/month (order C2TU250 for the full count, move "
        "the users, return C2TU25)"
    ]


def test_no_note_when_no_tier_the_count_reaches_is_cheaper() -> None:
    want, have = _pbx(30, "C2TU25")
    p = plan_of(desired(C2T, *want, licences={"C2TU25": 30}),
                actual(C2T, *have, licences={"C2TU25": 30}))
    assert not [w for w in p.warnings if w.startswith("cheaper tier")]
