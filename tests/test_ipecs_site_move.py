"""An iPECS site move (renumber into another site's range and change ``site``) converges on
apply: the extension and the site change in one Modify (seed 001: the User Setup form holds
both), never one without the other, which the numbering rule refuses."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from apply_helpers import invoke, open_sandbox, workspace

from reconciler.model import ActualAccount, ActualUser, Licence, Site
from reconciler.sandbox.faults import FAULTS_ENV

BASIC = "Basic User With VM"
ACCOUNT = f"""\
account: two-sites
platform: ipecs-cloud
external_id: C000000777
name: Two Sites Ltd
sites:
  HQ: {{extensions: "100-299"}}
  Branch: {{extensions: "300-399"}}
users:
  - extension: 301
    renumbered_from: 201
    name: Ann Archer
    site: Branch
    profile: {BASIC}
  - extension: 202
    name: Bo Brown
    site: HQ
    profile: {BASIC}
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


def _seed(ws: Path) -> None:
    box = open_sandbox(ws)
    box.load_state([ActualAccount(
        platform="ipecs-cloud", external_id="C000000777", name="Two Sites Ltd",
        sites=(Site("HQ", 100, 299), Site("Branch", 300, 399)),
        users=(ActualUser(201, "", "Ann Archer", BASIC, site="HQ"),
               ActualUser(202, "", "Bo Brown", BASIC, site="HQ")),
        licences=(Licence(BASIC, 2),),
    )])
    box.close()


def _users(ws: Path) -> list[tuple[int, str, str]]:
    box = open_sandbox(ws)
    try:
        (acct,) = [a for a in box.snapshot()["accounts"] if a["external_id"] == "C000000777"]
        return [(u["extension"], u["site"], u["user_id"]) for u in acct["users"]]
    finally:
        box.close()


def test_the_plan_moves_extension_and_site_in_one_step(tmp_path: Path) -> None:
    ws = workspace(tmp_path, accounts={"two-sites.yaml": ACCOUNT})
    _seed(ws)
    plan = invoke(ws, "plan", "--format", "text", "--no-color")
    assert plan.exit_code == 0, plan.output
    assert ("  ~ Change Extension 201 Ann Archer: extension 201 -> 301, site HQ -> Branch"
            in plan.output.splitlines())
    assert "Modify User" not in plan.output  # no separate site edit the platform refuses


@pytest.mark.parametrize("how", ["paths", "saved plan"])
def test_a_site_move_converges_on_apply(tmp_path: Path, how: str) -> None:
    ws = workspace(tmp_path, accounts={"two-sites.yaml": ACCOUNT})
    _seed(ws)
    (ann_id,) = [uid for ext, _, uid in _users(ws) if ext == 201]
    if how == "paths":
        result = invoke(ws, "apply", "accounts/two-sites.yaml", "--auto-approve")
    else:
        assert invoke(ws, "plan", "accounts/two-sites.yaml", "-o", "plans/p.json").exit_code == 0
        result = invoke(ws, "apply", "plans/p.json")
    assert result.exit_code == 0, result.output
    assert "Rule Number" not in result.output
    users = _users(ws)
    assert (301, "Branch", ann_id) in users  # the same user, moved
    assert all(ext != 201 for ext, _, _ in users)
    again = invoke(ws, "plan", "accounts/two-sites.yaml", "--detailed-exitcode")
    assert again.exit_code == 0, again.output  # converged: nothing left
