"""The portal flow end to end on the sandbox: export, apply (a runbook, exit 3), a person
follows the runbook (here: its steps performed on the sandbox), export again, and
``runbook status`` reports every step done; the plan is then empty."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from portal_helpers import workspace

from reconciler.cli import cli
from reconciler.config import Config
from reconciler.model import Licence
from reconciler.plan import Step
from reconciler.portal.export import sandbox_time, write_exports
from reconciler.portal.runbook import load
from reconciler.sandbox import Sandbox
from reconciler.sandbox.demo import demo_accounts

DEMO = {"vertical-demo": "C000000150", "northwind": "CC-104233", "contoso": "C2T-10042",
        "partner-internal": "C2T-00001"}


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    workspace(tmp_path)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(cwd)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def export_all(box: Sandbox, root: Path) -> None:
    for account in demo_accounts():
        actual = box.read_account(account.platform, account.external_id)
        write_exports(actual, box.catalogs[account.platform], root / "exports",
                      as_of=sandbox_time(actual.today))


def follow(box: Sandbox, platform: str, external_id: str, steps: tuple[Step, ...],
           wrong: dict[str, str] | None = None) -> None:
    """What the person does in the portal, step by step (``wrong``: step id -> the
    package chosen instead of the one asked)."""
    orders: dict[str, str] = {}
    for number, step in enumerate(steps, start=1):
        if step.mode == "manual":  # the Service Desk amends the subscription
            state = box.read_account(platform, external_id)
            quantity = int((step.after or {})["quantity"])
            licences = tuple(replace(lic, quantity=quantity) if lic.key == step.licence else lic
                             for lic in state.licences)
            box.load_state([replace(state, licences=licences)])
            continue
        if step.action == "confirm_order" and "order_id" not in step.params:
            step = replace(step, params={"order_id": orders[step.depends_on[0]]})
        if wrong and step.id in wrong:
            step = replace(step, after={**dict(step.after or {}), "profile": wrong[step.id]})
        outcome = box.perform(platform, external_id, step, f"runbook-{external_id}-{number}")
        if outcome.order_id:
            orders[step.id] = outcome.order_id


def test_apply_writes_runbooks_and_following_them_converges(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    box = Sandbox.open(Config(root=root))
    export_all(box, root)
    applied = run("apply", "--auto-approve")
    assert applied.exit_code == 3, applied.output
    assert "vertical-demo: nothing applied; a person follows the runbook" in applied.stdout
    for name in ("runbook.md", "runbook.html", "runbook.txt", "runbook.json"):
        assert f"exports/C000000150/{name}" in applied.stdout
    status = run("runbook", "status")
    assert status.exit_code == 2
    assert "0 of 6 done, 6 not yet" in status.stdout

    # the exports were not downloaded again: a plan from them is warned about
    caplog.clear()
    run("plan", "--account", "northwind")
    assert caplog.messages[0].startswith("exports/CC-104233: these exports (2026-11-02T")
    assert "are not newer than the last apply" in caplog.messages[0]

    for ext in DEMO.values():
        plan = load(root / "exports" / ext / "runbook.json")
        follow(box, plan.platform, ext, plan.steps)
    export_all(box, root)

    status = run("runbook", "status", "--format", "json")
    assert status.exit_code == 0, status.stdout
    report = json.loads(status.stdout)
    assert report["all_done"] is True
    assert {r["account"] for r in report["runbooks"]} == set(DEMO)
    text = run("runbook", "status", "exports/C000000150/runbook.md")
    assert text.exit_code == 0
    assert "[x] 4. Change Package 297 9240 Demo: Basic User With VM -> Premium iPECS ONE USER" \
        in text.stdout
    assert "6 of 6 done, 0 not yet, 0 different from what was asked" in text.stdout

    caplog.clear()
    again = run("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert not caplog.messages


def test_the_wrong_package_chosen_is_different_from_what_was_asked(root: Path) -> None:
    box = Sandbox.open(Config(root=root))
    export_all(box, root)
    assert run("apply", "--auto-approve", "--account", "vertical-demo").exit_code == 3
    plan = load(root / "exports" / "C000000150" / "runbook.json")
    # more licences of the wrong package, so the Change Package goes through
    state = box.read_account("ipecs-cloud", "C000000150")
    box.load_state([replace(state, licences=(*state.licences,
                                             Licence("Premium PLUS iPECS ONE USER", 1)))])
    change = next(s for s in plan.steps if s.action == "change_profile")
    follow(box, "ipecs-cloud", "C000000150", plan.steps,
           wrong={change.id: "Premium PLUS iPECS ONE USER"})
    export_all(box, root)
    status = run("runbook", "status")
    assert status.exit_code == 2
    assert ("[!] 4. Change Package 297 9240 Demo: Basic User With VM -> Premium iPECS ONE USER"
            "  different: the export shows profile 'Premium PLUS iPECS ONE USER', the runbook "
            "asked 'Premium iPECS ONE USER'") in status.stdout


def test_plan_format_runbook_prints_the_portals_words(root: Path) -> None:
    box = Sandbox.open(Config(root=root))
    export_all(box, root)
    result = run("plan", "--format", "runbook")
    assert result.exit_code == 0, result.output
    out = result.stdout
    # iPECS (seed 001): Change Order, Save & Submit Order, Order Final Confirm, Change Package
    assert "- [ ] **1. Change Order Premium iPECS ONE USER: +1 (Now 2 -&gt; To Be 3)** · " \
        "monthly +22.00 USD" in out
    assert "at the bottom of the screen hit Save &amp; Submit Order." in out
    assert "Click Order Management, Order Final Confirm, then double-click on the order of " \
        "step 1 (Customer ID C000000150)." in out
    assert "Click on the Change to Existing Package radio button" in out
    # Call2Teams (seed 002): the pencil and Update Subscriptions, old and new total
    assert ("click on the pencil of C2TU25 and amend the quantity from 25 to 30 (old total "
            "125.00 -&gt; new total 150.00 USD/month).") in out
    assert "click the blue Update Subscriptions button." in out
    assert "Please amend subscription C2TU-I25 on account C2T-00001 (Partner Internal)" in out
    # Mitel (seed 000): the Swap dialog
    assert "Right-click in the row that contains 1006 Erin Ellis, and then click Swap." in out
    assert not list((root / "exports").glob("*/runbook.*")), "plan writes nothing"


def test_a_saved_plan_of_older_exports_is_refused_as_stale(root: Path) -> None:
    box = Sandbox.open(Config(root=root))
    export_all(box, root)
    assert run("plan", "-o", "plans/plan.json").exit_code == 0
    box.perform("mitel-connect", "CC-104233",
                Step(id="x", action="update_user", user=1005, before={"name": "Lobby Phone"},
                     after={"name": "Lobby"}), "by-hand-1")
    export_all(box, root)
    result = run("apply", "plans/plan.json")
    assert result.exit_code == 1
    assert ("plan is stale: the exports changed since the plan was made (account northwind); "
            "run reconciler plan again") in result.output
    assert not list((root / "exports").glob("*/runbook.*"))


def test_sandbox_export_of_an_unknown_account_is_one_line(root: Path) -> None:
    result = run("sandbox", "export", "--account", "northwnd", "--dir", "exports")
    assert result.exit_code == 1
    assert "no sandbox account 'northwnd' (did you mean \"northwind\"?)" in result.output


def test_sandbox_platforms_are_applied_and_portal_platforms_get_runbooks(root: Path) -> None:
    """Kinds mix per platform: iPECS from exports (a runbook), the others on the sandbox."""
    (root / "reconciler.yaml").write_text(
        "providers:\n  ipecs-cloud: {kind: portal, exports: exports}\n", encoding="utf-8")
    box = Sandbox.open(Config(root=root))
    export_all(box, root)
    result = run("apply", "--auto-approve")
    assert result.exit_code == 3, result.output  # the runbook, and the Service Desk request
    assert "vertical-demo: nothing applied; a person follows the runbook" in result.stdout
    assert [p.parent.name for p in (root / "exports").glob("*/runbook.json")] == ["C000000150"]
    # the sandbox accounts were applied: Carol Chen swapped, the iPECS user untouched
    assert box.read_account("mitel-connect", "CC-104233").user(1003).profile == "essentials"
    assert box.read_account("ipecs-cloud", "C000000150").user(297).profile == \
        "Basic User With VM"


def test_import_from_exports_writes_a_file_that_plans_no_changes(root: Path) -> None:
    box = Sandbox.open(Config(root=root))
    export_all(box, root)
    imported = run("import", "--platform", "mitel-connect", "--external-id", "CC-104233",
                   "-o", "imported/northwind.yaml")
    assert imported.exit_code == 0, imported.output
    text = (root / "imported" / "northwind.yaml").read_text()
    assert "name: \"\"" not in text  # the exports do not name the account
    plan = run("plan", "imported", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
