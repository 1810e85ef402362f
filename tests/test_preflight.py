"""Preflight at plan time, on the sandbox: what apply would certainly fail blocks the plan."""

from __future__ import annotations

from pathlib import Path

from apply_helpers import invoke, workspace

REPO = Path(__file__).parent.parent


def test_a_site_the_live_account_lacks_blocks_the_plan(tmp_path: Path) -> None:
    """The iPECS User Setup form offers only the account's sites: the plan blocks, naming
    the site, the account's sites and the users put on it."""
    text = (REPO / "accounts" / "vertical-demo.yaml").read_text()
    declared = '  Vertical Demo: {extensions: "100-299"}'
    text = text.replace(declared, declared + '\n  Branch: {extensions: "300-399"}')
    text += ("  - extension: 301\n    name: Branch Desk\n    site: Branch\n"
             "    profile: Premium iPECS ONE USER\n")
    ws = workspace(tmp_path, accounts={"vertical-demo.yaml": text})
    result = invoke(ws, "plan")
    assert result.exit_code == 1
    assert (
        "  BLOCKED (preflight): site Branch is not on iPECS account C000000150 (its sites: "
        "Vertical Demo); users 301 cannot be put on it: add the site in the portal first"
    ) in result.output.splitlines()
    # the same file without the new site's user plans as before
    ok = workspace(tmp_path / "ok", demo=("vertical-demo",))
    assert invoke(ok, "plan").exit_code == 0
