"""`reconciler sandbox ...`: the demo live state on first use, show, clock, approvals,
add-account, reset; and the billed total cross-checked against the platforms' bills."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sandbox_helpers import BASIC, IPECS, PREMIUM, VERTICAL, do, step

from reconciler.cli import cli
from reconciler.model import ActualAccount, ActualUser
from reconciler.platforms import PLATFORMS
from reconciler.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_show_on_a_fresh_directory_prints_the_demo_live_state(here: Path) -> None:
    result = run("sandbox", "show")
    assert result.exit_code == 0, result.output
    assert (here / ".reconciler" / "sandbox.db").exists()
    lines = result.output.splitlines()
    assert lines[0] == "sandbox .reconciler/sandbox.db  clock 2026-11-02"
    for expected in [
        'vertical-demo  ipecs-cloud C000000150 "Vertical Demo"',
        "  billed monthly: 90.00 USD",
        "    Basic User With VM              3  assigned 3, free 0",
        "    Premium iPECS ONE USER          2  assigned 2, free 0",
        "      202  Sales  [Premium iPECS ONE USER]  sales@vertical.com  Vertical Demo",
        "      297  9240 Demo  [Basic User With VM]  jstucker@vertical.com  Vertical Demo  "
        "4704812858  Site Call Barring Vertical Demo  fraud limit 10000 USD/day",
        "     1006  Erin Ellis  [advanced]  +call-recording,contact-center,recording-archive  "
        "erin@northwind.example",
        "     1099  Old Conference Room  [courtesy]",
        "    C2TUT         2  used 2, 0.00 each, active, since 2026-10-08, trial ends 2026-11-07",
        "    C2TU-I25     10  used 3, 2.00 each, active, since 2025-06-01",
    ]:
        assert expected in lines


def test_show_json_dumps_everything_with_money_as_strings(here: Path) -> None:
    result = run("sandbox", "show", "--format", "json")
    data = json.loads(result.output)
    assert data["clock"] == "2026-11-02"
    by_id = {a["external_id"]: a for a in data["accounts"]}
    assert {k: a["billed_monthly"] for k, a in by_id.items()} == {
        "C000000150": "90.00", "CC-104233": "232.00", "C2T-10042": "135.00",
        "C2T-00001": "20.00"}
    for account in data["accounts"]:
        assert set(account) == {"account", "platform", "external_id", "name", "kind",
                                "billed_monthly", "currency", "sites", "users", "pool",
                                "subscriptions", "orders", "charges"}
    assert by_id["C000000150"]["pool"][0] == {
        "package": "Basic User With VM", "quantity": 3, "assigned": 3, "free": 0}
    assert by_id["C2T-10042"]["subscriptions"][1] == {
        "sku": "C2TUT", "quantity": 2, "used": 2, "started_on": "2026-10-08",
        "expires_on": "2026-11-07", "active": True, "unit_price": "0.00"}


def test_show_names_accounts_by_the_slug_of_their_file(here: Path) -> None:
    accounts = here / "accounts"
    accounts.mkdir()
    (accounts / "nw.yaml").write_text(
        "account: northwind\nplatform: mitel-connect\nexternal_id: CC-104233\n")
    result = run("sandbox", "show", "--account", "northwind", "--format", "json")
    data = json.loads(result.output)
    assert [a["external_id"] for a in data["accounts"]] == ["CC-104233"]
    assert data["accounts"][0]["account"] == "northwind"
    by_id = run("sandbox", "show", "--account", "c000000150")
    assert 'vertical-demo  ipecs-cloud C000000150 "Vertical Demo"' in by_id.output
    missing = run("sandbox", "show", "--account", "vertical-dmeo")
    assert missing.exit_code == 1
    assert missing.output.startswith(
        "error: no sandbox account 'vertical-dmeo' (did you mean \"vertical-demo\"?)")


def test_orders_show_their_state_and_idempotency_key(here: Path) -> None:
    box = Sandbox(here / ".reconciler" / "sandbox.db")
    do(box, IPECS, VERTICAL, step("order_licences", licence=PREMIUM, before={"quantity": 2},
                                  after={"quantity": 3}), key="abc123")
    out = run("sandbox", "show", "--account", "vertical-demo").output
    assert "    503037  Premium iPECS ONE USER +1  approved  submitted 2026-11-02  key abc123" \
        in out.splitlines()


def test_advance_clock_expires_the_trial(here: Path) -> None:
    assert run("sandbox", "advance-clock", "5").output == "sandbox clock: 2026-11-07\n"
    out = run("sandbox", "show", "--account", "C2T-10042").output
    assert "    C2TUT         2  used 2, 0.00 each, CANCELLED, since 2026-10-08, trial ends " \
           "2026-11-07" in out.splitlines()
    assert "     2901  Pilot One  [pbx]  licence C2TUT  pilot1@contoso.example  NO SERVICE" \
        in out.splitlines()
    assert run("sandbox", "advance-clock", "-1").exit_code == 1


def test_approve_and_reject_from_the_command_line(here: Path) -> None:
    (here / "reconciler.yaml").write_text(
        "providers:\n  ipecs-cloud:\n    approval: manual\n")
    from reconciler.config import load_config

    box = Sandbox.open(load_config("reconciler.yaml"))
    first = do(box, IPECS, VERTICAL, step("order_licences", licence=PREMIUM,
                                          before={"quantity": 2}, after={"quantity": 3}))
    second = do(box, IPECS, VERTICAL, step("order_licences", licence=BASIC,
                                           before={"quantity": 3}, after={"quantity": 4}))
    assert run("sandbox", "approve", str(first.order_id)).output == "order 503037: approved\n"
    assert run("sandbox", "reject", str(second.order_id)).output == "order 503038: rejected\n"
    again = run("sandbox", "approve", "503038")
    assert (again.exit_code, again.output) == (
        1, "error: order 503038 is rejected, not submitted\n")
    assert [o.state for o in box.read_account(IPECS, VERTICAL).orders] == [
        "approved", "rejected"]


def test_add_account_creates_an_empty_account(here: Path) -> None:
    result = run("sandbox", "add-account", "--platform", "ipecs-cloud", "--external-id",
                 "C000000200", "--name", "Acme", "--site", "Acme HQ=100-199")
    assert result.output == "ipecs-cloud account C000000200: created\n"
    data = json.loads(run("sandbox", "show", "--account", "C000000200", "--format",
                          "json").output)["accounts"][0]
    assert (data["name"], data["sites"], data["users"], data["billed_monthly"]) == (
        "Acme", [{"name": "Acme HQ", "extensions": "100-199"}], [], "0.00")
    dup = run("sandbox", "add-account", "--platform", "ipecs-cloud", "--external-id",
              "C000000200")
    assert dup.output == "error: ipecs-cloud account C000000200 already exists\n"
    bad = run("sandbox", "add-account", "--platform", "call2teams", "--external-id", "X",
              "--site", "HQ")
    assert bad.exit_code == 1 and 'write it as "NAME=FIRST-LAST"' in bad.output


def test_reset_brings_back_the_demo_state(here: Path) -> None:
    run("sandbox", "advance-clock", "9")
    box = Sandbox(here / ".reconciler" / "sandbox.db")
    do(box, IPECS, VERTICAL, step("delete_user", user=297))
    before = json.loads(run("sandbox", "show", "--format", "json").output)
    assert run("sandbox", "reset").exit_code == 0
    after = json.loads(run("sandbox", "show", "--format", "json").output)
    fresh = here / "fresh"
    fresh.mkdir()
    (fresh / "reconciler.yaml").write_text("sandbox:\n  path: other.db\n")
    other = json.loads(run("sandbox", "show", "--format", "json", "--config",
                           str(fresh / "reconciler.yaml")).output)
    assert (fresh / "other.db").exists()  # --config honoured
    assert after == other != before  # the same user ids too: ids restart on reset
    assert after["clock"] == "2026-11-02"


def test_a_file_that_is_not_a_sandbox_is_one_line(here: Path) -> None:
    bad = here / ".reconciler"
    bad.mkdir()
    (bad / "sandbox.db").write_text("not sqlite at all " * 100)
    result = run("sandbox", "show")
    assert result.exit_code == 1
    assert result.output.startswith("error: sandbox file .reconciler/sandbox.db: ")
    assert len(result.output.splitlines()) == 1


def test_billed_total_equals_the_platforms_own_bill(sandbox: Sandbox) -> None:
    sandbox.advance_clock(6)  # the trial expired: neither bill counts it
    for platform in PLATFORMS:
        for external_id in sandbox.list_accounts(platform):
            state = sandbox.read_account(platform, external_id)
            expected = PLATFORMS[platform].monthly_bill(state, sandbox.catalogs[platform])
            assert sandbox.billed_monthly(platform, external_id) == expected


def test_read_account_is_a_few_queries_whatever_the_size(sandbox: Sandbox) -> None:
    def users(n: int) -> tuple[ActualUser, ...]:
        return tuple(ActualUser(extension=5000 + i, user_id="", name=f"U{i}",
                                profile="standard", add_ons=frozenset({"fax"}))
                     for i in range(n))

    sandbox.load_state([
        ActualAccount("mitel-connect", "SMALL", "Small", users=users(2)),
        ActualAccount("mitel-connect", "LARGE", "Large", users=users(200)),
    ])
    counts = []
    for external_id in ("SMALL", "LARGE"):
        statements: list[str] = []
        sandbox.db.conn.set_trace_callback(statements.append)
        state = sandbox.read_account("mitel-connect", external_id)
        sandbox.db.conn.set_trace_callback(None)
        counts.append(len(statements))
    assert len(state.users) == 200
    assert sandbox.billed_monthly("mitel-connect", "LARGE") == Decimal("6600.00")
    assert counts[0] == counts[1] <= 10


def test_a_sandbox_from_another_schema_version_asks_for_reset(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Sandbox(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    from reconciler.errors import ReconcilerError

    with pytest.raises(ReconcilerError, match="schema version 99.*run `reconciler sandbox "
                                              "reset`"):
        Sandbox(path)
