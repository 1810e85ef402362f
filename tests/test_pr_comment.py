"""The pull-request comment as a reviewer reads it: the summary table with its legend, the
losses above the folded sections, unchanged accounts in one line, blocked accounts open,
the commit the plan was made from (and a warning when the base branch moved), one arrow."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from render_sample import CREATED_AT, FP, sample_plan

from reconciler.cli import cli
from reconciler.plan import AccountPlan, Cost, Plan
from reconciler.render import render

REPO = Path(__file__).parent.parent
SHA1 = "1" * 40
SHA2 = "2" * 40


def markdown(plan: Plan, **kwargs: str | None) -> str:
    out = io.StringIO()
    render(plan, "markdown", out, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


def quiet(i: int) -> AccountPlan:
    return AccountPlan(f"quiet-{i:02d}", "mitel-connect", f"CC-9{i}", FP, (),
                       Cost(Decimal("10.00"), Decimal("10.00"), Decimal("0.00")))


def test_summary_table_has_a_manual_column_a_legend_and_waits_on() -> None:
    md = markdown(sample_plan())
    assert ("| account | platform | add | change | remove | manual | monthly | one-time | "
            "margin | margin Δ | warnings | blocked |") in md
    # the Service Desk step is counted in its own column, not as a change
    assert "| partner-internal | Call2Teams | 0 | 0 | 0 | 1 | +4.00 USD |" in md
    legend = next(line for line in md.splitlines() if line.startswith("<sub>Steps:"))
    for sign in ("`+` add", "`~` change", "`-` remove", "`-/+` replace", "`!` manual",
                 "`approval`", "`manual`", "Waits on"):
        assert sign in legend
    assert "| mode | waits on |" in md and "| mode | after |" not in md


def test_losses_are_listed_above_the_folded_sections() -> None:
    md = markdown(sample_plan())
    losses = md.index("> **Losses:**")
    first_section = md.index("<details")
    assert losses < first_section
    block = md[losses:first_section]
    assert ("> - **northwind** s3 1006 Erin Ellis: ⚠️ downgrade advanced\u00a0→\u00a0standard: "
            "loses add-on contact-center and included video\n") in block
    assert "> - **vertical-demo** s7 210 Warehouse: ⚠️ replaces the user" in block
    # one alert: no blank line splits the list
    assert "\n\n" not in block.strip()


def test_blocked_account_is_open_the_others_folded() -> None:
    md = markdown(sample_plan())
    opened = re.findall(r"<details( open)?>\n<summary><b>([a-z-]+)</b>", md)
    assert dict((name, bool(o)) for o, name in opened) == {
        "northwind": True, "vertical-demo": False, "contoso": False, "partner-internal": False}


def test_unchanged_accounts_collapse_into_one_line() -> None:
    plan = sample_plan()
    plan = replace(plan, accounts=plan.accounts + tuple(quiet(i) for i in range(11)))
    md = markdown(plan)
    assert "\n_12 accounts without changes._\n" in md  # the sample's quiet one and 11 more
    assert "quiet-" not in md
    nothing = markdown(Plan(tuple(quiet(i) for i in range(3)), created_at=CREATED_AT))
    assert "**No changes.**" in nothing and "_3 accounts without changes._" in nothing
    assert "| account |" not in nothing and "<sub>Steps:" not in nothing


def test_one_arrow_that_never_wraps() -> None:
    md = markdown(sample_plan())
    assert "->" not in md and "-&gt;" not in md
    arrows = [m.start() for m in re.finditer("→", md)]
    assert len(arrows) > 10
    assert all(md[i - 1] == "\u00a0" and md[i + 1] == "\u00a0" for i in arrows)
    # money too: quantity and totals of an amend, the account's cost line
    assert "quantity 10\u00a0→\u00a012 (+2), total 20.00\u00a0→\u00a024.00 USD/month" in md
    assert "Cost: monthly 250.00\u00a0→\u00a0248.50 USD" in md
    text = io.StringIO()
    render(sample_plan(), "text", text)
    assert "→" not in text.getvalue() and "250.00 -> 248.50" in text.getvalue()


def test_footer_names_the_commit_planned_from_and_warns_when_the_base_moved() -> None:
    plan = replace(sample_plan(), base={"ref": "origin/main", "commit": SHA1})
    same = markdown(plan, base_now=SHA1)
    assert "from `origin/main` at `111111111111`</sub>" in same
    assert "base branch has moved" not in same
    moved = markdown(plan, base_now=SHA2)
    assert ("**The base branch has moved since this plan.** It was planned from `origin/main` "
            "at `111111111111`; `origin/main` is now at `222222222222`.") in moved
    assert moved.index("has moved") < moved.index("| account |")


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    shutil.copytree(REPO / "accounts", tmp_path / "accounts")
    (tmp_path / "reconciler.yaml").write_text(
        "sandbox: {path: .sandbox/sandbox.db}\nstate: {path: .sandbox/state.db}\n")
    (tmp_path / ".gitignore").write_text(".sandbox/\nplans/\n")
    monkeypatch.chdir(tmp_path)
    for var in ("RECONCILER_SANDBOX_FAULTS", "RECONCILER_MITEL_ROLE", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    env = ("-c", "user.name=t", "-c", "user.email=t@example.com")
    _git("init", "-q", "-b", "main", cwd=tmp_path)
    _git(*env, "add", "-A", cwd=tmp_path)
    _git(*env, "commit", "-qm", "one", cwd=tmp_path)
    return tmp_path


def test_show_of_a_saved_plan_says_when_the_base_branch_moved(repo: Path) -> None:
    runner = CliRunner()
    first = _git("rev-parse", "HEAD", cwd=repo)
    made = runner.invoke(cli, ["plan", "--base-ref", "main", "-o", "plans/plan.json",
                               "--format", "markdown"])
    assert made.exit_code == 0, made.output
    assert f"from `main` at `{first[:12]}`</sub>" in made.stdout
    assert "has moved" not in made.stdout
    shown = runner.invoke(cli, ["show", "plans/plan.json", "--format", "markdown"])
    assert "has moved" not in shown.stdout
    (repo / "README").write_text("another change landed on main\n")
    _git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", "README", cwd=repo)
    _git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "two",
         cwd=repo)
    second = _git("rev-parse", "HEAD", cwd=repo)
    shown = runner.invoke(cli, ["show", "plans/plan.json", "--format", "markdown"])
    assert shown.exit_code == 0, shown.output
    assert (f"planned from `main` at `{first[:12]}`; `main` is now at `{second[:12]}`"
            in shown.stdout)


def test_an_unknown_base_ref_is_one_line(repo: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", "--base-ref", "origin/nope"])
    assert result.exit_code == 1
    assert "unknown git ref 'origin/nope'" in result.output
    assert "Traceback" not in result.output
