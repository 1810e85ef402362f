"""Golden files of every format on the demo accounts against the demo sandbox (planner,
sandbox and renderers together). Each test runs in a tmp directory with its own sandbox,
never the repository's .reconciler/. ``UPDATE_GOLDEN=1`` rewrites the golden files."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from render_sample import check_golden

from reconciler.cli import cli

pytest.importorskip("reconciler.planner")

REPO = Path(__file__).parent.parent
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:\+00:00|Z)")


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "accounts", tmp_path / "accounts")
    (tmp_path / "reconciler.yaml").write_text(
        "sandbox: {path: .sandbox/sandbox.db}\nstate: {path: .sandbox/state.db}\n"
    )
    monkeypatch.chdir(tmp_path)
    for var in ("RECONCILER_SANDBOX_FAULTS", "RECONCILER_MITEL_ROLE", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


#: a saved plan's digest covers its time stamp, so it changes with every run
DIGEST = re.compile(r'"digest": "sha256:[0-9a-f]{64}"')


def normalised(text: str) -> str:
    text = DIGEST.sub('"digest": "sha256:(the plan\'s own digest)"', text)
    return STAMP.sub("2026-01-01T00:00:00+00:00", text)


@pytest.mark.parametrize(
    ("fmt", "golden"),
    [("text", "demo.txt"), ("markdown", "demo.md"), ("html", "demo.html"), ("json", "demo.json")],
)
def test_demo_golden(demo: Path, fmt: str, golden: str) -> None:
    result = CliRunner().invoke(cli, ["plan", "--format", fmt])
    assert result.exit_code == 0, result.output
    check_golden(golden, normalised(result.stdout))


def test_demo_drift_golden(demo: Path) -> None:
    result = CliRunner().invoke(cli, ["drift"])
    assert result.exit_code == 2, result.output
    check_golden("demo-drift.txt", result.stdout)


def test_demo_plan_saved_matches_schema_and_shows_the_same(demo: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["plan", "-o", "plans/plan.json", "--detailed-exitcode"])
    assert made.exit_code == 2, made.output  # the demo has changes, none blocked
    schema = json.loads((REPO / "schemas" / "plan.schema.json").read_text())
    data = json.loads((demo / "plans" / "plan.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(data)
    assert {a["account"]: a["path"] for a in data["accounts"]} == {
        "contoso": "accounts/contoso-c2t.yaml",
        "northwind": "accounts/northwind-mitel.yaml",
        "partner-internal": "accounts/partner-internal.yaml",
        "vertical-demo": "accounts/vertical-demo.yaml",
    }
    shown = runner.invoke(cli, ["show", "plans/plan.json"])
    assert shown.exit_code == 0
    # the plan made now says what it read from (the first line); a saved plan does not know
    using, _, plan_text = made.stdout.partition("\n\n")
    assert using == DEMO_USING
    assert shown.stdout == plan_text


DEMO_USING = ("Using config: reconciler.yaml · price book: none (sample prices) · "
              "call2teams: sandbox · ipecs-cloud: sandbox · mitel-connect: sandbox")


def test_demo_one_account(demo: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", "--account", "vertical-demo"])
    assert result.exit_code == 0
    assert result.stdout.startswith(
        "Using config: reconciler.yaml · price book: none (sample prices) · "
        "ipecs-cloud: sandbox\n\nvertical-demo · iPECS Cloud C000000150")
    assert "northwind" not in result.stdout


def test_demo_blocked_downgrade_prints_the_plan_verdict_first_and_exits_1(demo: Path) -> None:
    northwind = demo / "accounts" / "northwind-mitel.yaml"
    northwind.write_text(northwind.read_text().replace("    allow_downgrade: true\n", ""))
    runner = CliRunner()
    result = runner.invoke(cli, ["plan", "--account", "northwind", "--detailed-exitcode"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()[2:]  # after the "Using ..." line
    assert lines[0] == "Blocked: 1 account with a blocking verdict; this plan cannot be applied."
    assert lines[1].startswith("  x northwind: downgrade not allowed: 1006 (Advanced CLOUD -> "
                               "Standard CLOUD)")
    assert ("  ~ Swap 1006 Erin Ellis: advanced -> standard  -40.00/month  (sample price)  "
            "revenue -46.00, margin -6.00") in lines
    allowed = runner.invoke(cli, ["plan", "--account", "northwind", "--allow-downgrade"])
    assert allowed.exit_code == 0 and "Blocked" not in allowed.stdout


def test_demo_expired_trial_is_drift(demo: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["sandbox", "advance-clock", "10"]).exit_code == 0
    result = runner.invoke(cli, ["drift", "--account", "contoso"])
    assert result.exit_code == 2
    assert ("  ~ on the platform: trial C2TUT expired on 2026-11-07: the subscription is "
            "cancelled and users 2901, 2902 have no service\n") in result.stdout
