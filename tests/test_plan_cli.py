from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from render_sample import CREATED_AT, contoso, ipecs, mitel, quiet, sample_plan

from reconciler.cli import cli, plan_cmd
from reconciler.errors import InputError
from reconciler.plan import Cost, Plan
from reconciler.planio import load_plan


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Stand-in for the planner: returns the plan set in calls[0]["plan"]."""
    seen: list[dict[str, Any]] = [{"plan": sample_plan()}]

    def fake(paths: Any, config_path: str, **kwargs: Any) -> Plan:
        seen.append({"paths": tuple(paths), "config": config_path, **kwargs})
        result = seen[0]["plan"]
        if isinstance(result, Exception):
            raise result
        plan: Plan = result
        if kwargs.get("account"):
            plan = plan.only(kwargs["account"])
        return plan

    def fake_stream(paths: Any, config_path: str, each: Any, **kwargs: Any) -> Plan:
        plan = fake(paths, config_path, **kwargs)
        for acct in plan.accounts:
            each(acct)
        return replace(plan, accounts=())

    monkeypatch.setattr(plan_cmd, "build_plan", fake)
    monkeypatch.setattr(plan_cmd, "stream_plan", fake_stream)
    return seen


def unblocked() -> Plan:
    return Plan((replace(mitel(), blocked=()), ipecs(), contoso()), created_at=CREATED_AT)


def unchanged() -> Plan:
    return Plan((quiet(),), created_at=CREATED_AT)


@pytest.mark.parametrize(
    ("plan", "args", "code"),
    [
        (unchanged, [], 0),
        (unchanged, ["--detailed-exitcode"], 0),
        (unblocked, [], 0),
        (unblocked, ["--detailed-exitcode"], 2),
        (sample_plan, [], 1),
        (sample_plan, ["--detailed-exitcode"], 1),
    ],
)
def test_plan_exit_codes(
    runner: CliRunner, calls: list[dict[str, Any]], plan: Any, args: list[str], code: int
) -> None:
    calls[0]["plan"] = plan()
    result = runner.invoke(cli, ["plan", *args])
    assert result.exit_code == code, result.output
    assert "Monthly" in result.stdout


def test_blocked_plan_is_printed_with_verdicts_first(
    runner: CliRunner, calls: list[dict[str, Any]]
) -> None:
    result = runner.invoke(cli, ["plan"])
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first == "Blocked: 1 account with a blocking verdict; this plan cannot be applied."
    assert "Plan: 4 to add, 11 to change, 4 to remove, 1 manual." in result.stdout
    assert result.stderr == ""


def test_plan_passes_options_to_the_planner(
    runner: CliRunner, calls: list[dict[str, Any]]
) -> None:
    result = runner.invoke(cli, ["plan", "accounts/x.yaml", "--config", "r.yaml",
                                 "--allow-downgrade", "--force", "--account", "contoso"])
    assert result.exit_code == 0, result.output
    assert calls[1] == {"paths": ("accounts/x.yaml",), "config": "r.yaml",
                        "allow_downgrade": True, "force": True, "account": "contoso",
                        "parallelism": 8, "fingerprints": False}  # a text plan is not saved
    assert "contoso · Call2Teams" in result.stdout and "northwind" not in result.stdout


def test_plan_o_saves_json_whatever_the_format(
    runner: CliRunner, calls: list[dict[str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "plans" / "plan.json"
    result = runner.invoke(cli, ["plan", "--format", "markdown", "--mask-emails", "-o", str(out)])
    assert result.exit_code == 1  # the sample is blocked, and still saved
    assert result.stdout.startswith("### reconciler plan")
    assert result.stderr == f"saved the plan to {out}\n"
    saved = load_plan(out)
    assert saved == sample_plan()  # unmasked: apply needs the real addresses
    assert saved.accounts[1].fingerprint.startswith("sha256:")
    assert saved.accounts[1].path == "accounts/vertical-demo.yaml"


def test_plan_o_that_cannot_be_written_is_one_line(
    runner: CliRunner, calls: list[dict[str, Any]], tmp_path: Path
) -> None:
    (tmp_path / "plans").write_text("a file where a directory should be")
    result = runner.invoke(cli, ["plan", "-o", str(tmp_path / "plans" / "plan.json")])
    assert result.exit_code == 1
    target = tmp_path / "plans" / "plan.json"
    assert result.stderr == f"error: cannot write {target} (Not a directory)\n"
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""


def test_plan_format_json_is_the_saved_plan(
    runner: CliRunner, calls: list[dict[str, Any]]
) -> None:
    result = runner.invoke(cli, ["plan", "--format", "json"])
    data = json.loads(result.stdout)
    assert data["summary"]["steps"] == 19
    assert data["accounts"][0]["steps"][1]["monthly_delta"] == "8.00"


def test_colour_follows_the_flag(runner: CliRunner, calls: list[dict[str, Any]]) -> None:
    assert "\x1b[" not in runner.invoke(cli, ["plan"]).stdout  # not a terminal
    assert "\x1b[" in runner.invoke(cli, ["plan", "--color"]).stdout
    assert "\x1b[" not in runner.invoke(cli, ["plan", "--color", "--format", "markdown"]).stdout


def test_planner_error_is_one_line(runner: CliRunner, calls: list[dict[str, Any]]) -> None:
    calls[0]["plan"] = InputError("unknown profile 'gold'", file="accounts/x.yaml")
    result = runner.invoke(cli, ["plan"])
    assert result.exit_code == 1
    assert result.stderr == "accounts/x.yaml: unknown profile 'gold'\n"
    assert result.stdout == ""


def test_show_renders_a_saved_plan(
    runner: CliRunner, calls: list[dict[str, Any]], tmp_path: Path
) -> None:
    calls[0]["plan"] = unblocked()
    out = tmp_path / "plan.json"
    made = runner.invoke(cli, ["plan", "-o", str(out)])
    shown = runner.invoke(cli, ["show", str(out)])
    assert shown.exit_code == 0
    assert shown.stdout == made.stdout
    html = runner.invoke(cli, ["show", str(out), "--format", "html"])
    assert html.stdout.startswith("<!DOCTYPE html>")
    one = runner.invoke(cli, ["show", str(out), "--account", "contoso"])
    assert "contoso · " in one.stdout and "northwind" not in one.stdout


def test_show_blocked_plan_exits_1(
    runner: CliRunner, calls: list[dict[str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "plan.json"
    runner.invoke(cli, ["plan", "-o", str(out)])
    result = runner.invoke(cli, ["show", str(out)])
    assert result.exit_code == 1
    assert result.stdout.startswith("Blocked: 1 account")


def test_show_refuses_a_foreign_file_in_one_line(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "tf.json"
    bad.write_text('{"terraform_version": "1.9.0"}')
    result = runner.invoke(cli, ["show", str(bad)])
    assert result.exit_code == 1
    assert result.stderr == f"{bad}: not a reconciler plan (no format_version)\n"
    missing = runner.invoke(cli, ["show", str(tmp_path / "nope.json")])
    assert missing.stderr == f"{tmp_path / 'nope.json'}: no such plan file\n"


def test_drift_exit_codes_and_wording(runner: CliRunner, calls: list[dict[str, Any]]) -> None:
    result = runner.invoke(cli, ["drift"])
    assert result.exit_code == 2
    assert ("  ~ on the platform: 1003 Carol Chen is telephony; the file says essentials\n"
            in result.stdout)
    assert ("  ~ on the platform: 1020 Kiosk (courtesy); the file does not list it\n"
            in result.stdout)
    assert result.stdout.rstrip().splitlines()[-1].startswith(
        "Drift: 18 differences in 4 of 5 accounts.")
    # drift reports every difference: no policy may hide one
    assert calls[1]["allow_downgrade"] is True and calls[1]["force"] is True

    calls[0]["plan"] = unchanged()
    none = runner.invoke(cli, ["drift"])
    assert none.exit_code == 0
    assert none.stdout == "quiet: no drift\n\nNo drift. The platforms match the files.\n"

    calls[0]["plan"] = InputError("cannot read", file="accounts/x.yaml")
    assert runner.invoke(cli, ["drift"]).exit_code == 1


def test_drift_json_and_markdown(runner: CliRunner, calls: list[dict[str, Any]]) -> None:
    data = json.loads(runner.invoke(cli, ["drift", "--format", "json"]).stdout)
    assert data["summary"] == {"accounts": 5, "drifted": 4, "differences": 18}
    assert data["accounts"][2]["drift"][0] == {
        "kind": "licence_quantity", "target": "C2TU25",
        "platform": "C2TU25 quantity is 0", "file": "the file wants 26"}
    md = runner.invoke(cli, ["drift", "--format", "markdown"]).stdout
    assert "| 1003 Carol Chen is telephony | the file says essentials |" in md


def test_drift_of_a_user_move_is_the_users_not_the_pools(
    runner: CliRunner, calls: list[dict[str, Any]]
) -> None:
    calls[0]["plan"] = Plan((ipecs(),), created_at=CREATED_AT)
    out = runner.invoke(cli, ["drift"]).stdout
    assert out.splitlines()[1:5] == [
        # 297 moving up explains Premium +1; Basic -1 of its -2: 210's replace is the rest
        "  ~ on the platform: Basic User With VM quantity is 3; the file wants 2",
        "  ~ on the platform: change order CO-7781 for Stand Alone VM is still open; "
        "apply will confirm it",
        "  ~ on the platform: 297 9240 Demo is Basic User With VM; "
        "the file says Premium iPECS ONE USER",
        "  ~ on the platform: 210 Warehouse is Basic User With VM; the file says Stand Alone VM",
    ]


def test_drift_nets_a_temporary_licence_and_reports_expired_trials() -> None:
    from io import StringIO

    from reconciler.plan import Step
    from reconciler.render import render_drift

    temp = (
        Step("s1", "order_licences", licence="P", before={"quantity": 2}, after={"quantity": 3}),
        Step("s2", "return_licences", licence="P", before={"quantity": 3}, after={"quantity": 2}),
    )
    expired = "trial C2TUT expired on 2025-12-20: 2 users lost service"
    acct = replace(ipecs(), steps=temp, drift=(expired,), warnings=("expired passwords",),
                   cost=Cost(Decimal("1.00"), Decimal("1.00"), Decimal("0.00")))
    out = StringIO()
    assert render_drift(Plan((acct,), created_at=CREATED_AT), "text", out)
    assert "quantity" not in out.getvalue()
    assert ("  ~ on the platform: trial C2TUT expired on 2025-12-20: 2 users lost service\n"
            in out.getvalue())
    assert "expired passwords" not in out.getvalue()  # a warning is not drift


def test_help_ends_with_examples(runner: CliRunner) -> None:
    for command in ("plan", "show", "drift"):
        text = runner.invoke(cli, [command, "--help"]).output
        assert "Examples:" in text and f"reconciler {command}" in text
