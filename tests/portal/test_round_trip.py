"""Sandbox -> export -> portal read: the same actual state and the same plan as the sandbox
provider, for every demo account, in .xlsx and in CSV."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from portal_helpers import REPO, workspace

from reconciler.accounts import load_accounts
from reconciler.cli import cli
from reconciler.model import ActualAccount, ChangeOrder, Licence
from reconciler.planio import plan_to_json
from reconciler.planner import plan_account
from reconciler.platforms import PLATFORMS
from reconciler.portal.export import write_exports
from reconciler.portal.provider import PortalProvider
from reconciler.sandbox import Sandbox
from reconciler.sandbox.demo import demo_accounts

DEMO = [(a.platform, a.external_id) for a in demo_accounts()]


def portal_read(sandbox: Sandbox, platform: str, external_id: str, root: Path,
                fmt: str | None) -> tuple[ActualAccount, ActualAccount]:
    # the exports carry no bill (the portal's invoices are not read): compare without it
    actual = replace(sandbox.read_account(platform, external_id), billed_monthly=None,
                     billed_currency=None)
    write_exports(actual, sandbox.catalogs[platform], root, fmt)
    provider = PortalProvider(platform, root, sandbox.catalogs[platform],
                              today=lambda: actual.today)
    return actual, provider.read_account(external_id)


@pytest.mark.parametrize("fmt", [None, "csv", "xlsx"])
@pytest.mark.parametrize(("platform", "external_id"), DEMO)
def test_every_demo_account_reads_back_as_the_sandbox_has_it(
    sandbox: Sandbox, tmp_path: Path, platform: str, external_id: str, fmt: str | None
) -> None:
    actual, read = portal_read(sandbox, platform, external_id, tmp_path / "exports", fmt)
    # the exports do not name the account: everything else is the same
    assert read == replace(actual, name="")


@pytest.mark.parametrize(("platform", "external_id"), DEMO)
def test_every_demo_account_plans_the_same_from_its_exports(
    sandbox: Sandbox, tmp_path: Path, platform: str, external_id: str
) -> None:
    desired = next(d for d in load_accounts([str(REPO / "accounts")])
                   if d.external_id == external_id)
    actual, read = portal_read(sandbox, platform, external_id, tmp_path / "exports", None)
    catalog = sandbox.catalogs[platform]
    want = plan_to_json(_plan(plan_account(desired, actual, catalog, PLATFORMS[platform])))
    got = plan_to_json(_plan(plan_account(desired, read, catalog, PLATFORMS[platform])))
    for data in (want, got):
        data["accounts"][0].pop("fingerprint")
        data.pop("digest")  # covers the fingerprint
    assert got == want
    assert got["accounts"][0]["steps"], "the demo accounts all have steps"


def _plan(account: object) -> object:
    from reconciler.plan import Plan

    return Plan((account,), created_at="2026-01-01T00:00:00+00:00")  # type: ignore[arg-type]


def test_pending_and_rejected_orders_and_an_expired_trial_read_back(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    vertical, contoso = demo_accounts()[0], demo_accounts()[2]
    orders = (
        ChangeOrder("503040", "Premium iPECS ONE USER", 2, "approved", date(2026, 10, 30)),
        ChangeOrder("503041", "Stand Alone VM", -1, "submitted", date(2026, 11, 1)),
        ChangeOrder("503042", "Premium PLUS iPECS ONE USER", 1, "rejected", date(2026, 11, 1)),
        ChangeOrder("503039", "Basic User With VM", 1, "confirmed", date(2026, 10, 1)),
    )
    sandbox.load_state([replace(vertical, orders=orders)])
    sandbox.advance_clock(10)  # the C2TUT trial expires on day 5
    for platform, ext in (("ipecs-cloud", "C000000150"), ("call2teams", "C2T-10042")):
        actual, read = portal_read(sandbox, platform, ext, tmp_path / "exports", None)
        assert read == replace(actual, name="")
    expired = read.licence("C2TUT")
    assert expired == Licence("C2TUT", 2, contoso.licence("C2TUT").started_on, active=False)
    assert not read.user(2901).active


def test_the_cli_round_trip_plans_exactly_what_the_sandbox_plans(tmp_path: Path) -> None:
    """A newcomer's path: sandbox export, point reconciler.yaml at it, plan."""
    root = workspace(tmp_path)
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(root)
    try:
        sandbox_yaml = root / "sandbox.yaml"
        sandbox_yaml.write_text("sandbox: {path: .reconciler/sandbox.db}\n", encoding="utf-8")
        direct = runner.invoke(cli, ["plan", "--config", "sandbox.yaml"])
        exported = runner.invoke(cli, ["sandbox", "export", "--dir", "exports"])
        assert exported.exit_code == 0, exported.output
        assert "vertical-demo: wrote exports/C000000150/users.xlsx" in exported.output
        portal = runner.invoke(cli, ["plan"])
    finally:
        os.chdir(cwd)
    assert direct.exit_code == 0 and portal.exit_code == 0, portal.output
    # the first line names what each run read from; the plans after it are the same
    head_direct, rest_direct = direct.output.split("\n", 1)
    head_portal, rest_portal = portal.output.split("\n", 1)
    assert head_direct == ("Using config: sandbox.yaml · price book: none (sample prices) · "
                           "call2teams: sandbox · ipecs-cloud: sandbox · mitel-connect: sandbox")
    assert head_portal == (
        "Using config: reconciler.yaml · price book: none (sample prices) · "
        "call2teams: portal exports in exports · ipecs-cloud: portal exports in exports · "
        "mitel-connect: portal exports in exports")
    assert rest_portal == rest_direct
    assert "Swap 1006 Erin Ellis" in portal.output
