"""``plan`` renders account by account (reconciler.render.stream): the output is byte for
byte the whole plan's, whether the rendered accounts stay in memory or spill to disk, and
the saved plan's digest (computed as the accounts pass) is the one load_plan checks."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from io import StringIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from render_sample import CREATED_AT, GOLDEN, mitel, sample_plan

from reconciler.cli import cli
from reconciler.config import load_config
from reconciler.escape import mask_email, walk_strings
from reconciler.plan import Plan
from reconciler.planio import load_plan, plan_to_json
from reconciler.render import stream
from reconciler.session import Session

REPO = Path(__file__).parent.parent


def _plans() -> list[Plan]:
    named = replace(mitel(), account="zürich-ümlaut")
    return [
        sample_plan(),
        Plan((), created_at=CREATED_AT),
        Plan((named, mitel()), created_at=CREATED_AT, base={"ref": "origin/main",
             "commit": "a" * 40}, options={"allow_downgrade": True, "force": False}),
    ]


def _streamed(plan: Plan, fmt: str, **kw: bool) -> str:
    out = StringIO()
    stream.write_plan(plan, fmt, out, **kw)
    return out.getvalue()


@pytest.fixture(params=[stream.SPOOL_BYTES, 1], ids=["in-memory", "spilled-to-disk"])
def spool_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(stream, "SPOOL_BYTES", request.param)
    return int(request.param)


@pytest.mark.parametrize("mask", [False, True])
def test_streamed_json_is_the_whole_plans_json(spool_size: int, mask: bool) -> None:
    for plan in _plans():
        whole = plan_to_json(plan)
        if mask:
            whole = walk_strings(whole, mask_email)
        expected = json.dumps(whole, indent=2, ensure_ascii=False) + "\n"
        assert _streamed(plan, "json", mask_emails=mask) == expected


def test_streamed_text_spilled_to_disk_is_the_golden_text(spool_size: int) -> None:
    assert _streamed(sample_plan(), "text") == (GOLDEN / "sample.txt").read_text("utf-8")


def test_streamed_plan_saved_loads_with_its_digest_and_shows_the_same_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REPO / "accounts", tmp_path / "accounts")
    (tmp_path / "reconciler.yaml").write_text(
        "sandbox: {path: .sandbox/sandbox.db}\nstate: {path: .sandbox/state.db}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    runner = CliRunner()
    made = runner.invoke(cli, ["plan", "-o", "plan.json"])
    assert made.exit_code == 0, made.output
    saved = load_plan("plan.json")  # refuses a plan whose digest does not match
    assert [a.account for a in saved.accounts] == [
        "contoso", "northwind", "partner-internal", "vertical-demo"]
    shown = runner.invoke(cli, ["show", "plan.json"])
    assert shown.exit_code == 0, shown.output
    # the run's "Using ..." line is not part of the plan: show prints none
    using, rest = made.stdout.split("\n\n", 1)
    assert using.startswith("Using config: ") and "\n" not in using
    assert shown.stdout == rest
    as_json = runner.invoke(cli, ["show", "plan.json", "--format", "json"])
    assert as_json.stdout == Path("plan.json").read_text("utf-8")


def test_session_yields_each_plan_before_reading_the_next_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REPO / "accounts", tmp_path / "accounts")
    (tmp_path / "reconciler.yaml").write_text(
        "sandbox: {path: .sandbox/sandbox.db}\nstate: {path: .sandbox/state.db}\n")
    monkeypatch.chdir(tmp_path)
    with Session(load_config("reconciler.yaml"), parallelism=1) as session:
        reads: list[str] = []
        read = session.read
        monkeypatch.setattr(session, "read", lambda p, x: reads.append(x) or read(p, x))
        plans = session.plans(["accounts"])
        first = next(plans)
        assert len(reads) == 1
        rest = list(plans)
    assert len(reads) == 1 + len(rest) == 4
    assert first.account == "contoso"
