"""``plan`` renders account by account (reconciler.render.stream): the output is byte for
byte the whole plan's, whether the rendered accounts stay in memory or spill to disk, and
the saved plan's digest (computed as the accounts pass) is the one load_plan checks."""

from __future__ import annotations

import gc
import json
import shutil
import weakref
from dataclasses import replace
from decimal import Decimal
from io import StringIO
from pathlib import Path

import jinja2
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from reference import markdown_whole
from render_sample import CREATED_AT, GOLDEN, contoso, ipecs, mitel, partner, quiet, sample_plan

from reconciler import spool
from reconciler.cli import cli
from reconciler.config import load_config
from reconciler.escape import mask_email, md, walk_strings
from reconciler.plan import Plan
from reconciler.planio import load_plan, plan_to_json
from reconciler.render import render, stream
from reconciler.render.drift import DriftWriter, drift_view
from reconciler.render.env import environment, paint
from reconciler.render.markdown import LIMIT
from reconciler.render.view import RICH_ARROW, view
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


@pytest.fixture(params=[spool.SPOOL_BYTES, 1], ids=["in-memory", "spilled-to-disk"])
def spool_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(spool, "SPOOL_BYTES", request.param)
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


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """Plans made of the sample accounts: any number, any order, renamed (markup, e-mails,
    control characters), some without their later steps, priced in another currency."""
    made = []
    for build in draw(st.lists(st.sampled_from([mitel, ipecs, contoso, partner, quiet]),
                               max_size=6)):
        acct = build()
        name = draw(st.sampled_from(["", "<b>x</b>", "a@b.example", "ü\n|*", "x" * 70]))
        keep = draw(st.integers(0, len(acct.steps)))
        currency = draw(st.sampled_from([acct.cost.currency, "EUR"]))
        made.append(replace(acct, account=acct.account + name, steps=acct.steps[:keep],
                            cost=replace(acct.cost, currency=currency,
                                         one_time=acct.cost.one_time + Decimal(keep))))
    return Plan(tuple(made), created_at=CREATED_AT)


def _oracle(name: str, **context: object) -> str:
    """A whole-plan template as it was before the plan was streamed (kept in
    tests/reference as the oracle)."""
    oracle = jinja2.Environment(loader=jinja2.FileSystemLoader(REPO / "tests" / "reference"),
                                undefined=jinja2.StrictUndefined,
                                autoescape=name.startswith("html"), trim_blocks=True,
                                lstrip_blocks=True, keep_trailing_newline=True)
    oracle.globals.update(environment().globals)
    return oracle.get_template(name).render(**context)


def _whole_html(plan: Plan, mask: bool) -> str:
    return _oracle("html_whole.j2", plan=view(plan, mask_emails=mask, arrow=RICH_ARROW))


#: the comment's limit, and small ones that fold, list in part and cut accounts
LIMITS = [LIMIT, 6000, 2500, 900]


@pytest.mark.parametrize("size", [spool.SPOOL_BYTES, 1], ids=["in-memory", "spilled"])
@given(plan=plans(), mask=st.booleans(), limit=st.sampled_from(LIMITS))
def test_streamed_markdown_is_the_whole_plans_comment(
    size: int, plan: Plan, mask: bool, limit: int
) -> None:
    whole = markdown_whole.fit(walk_strings(view(plan, mask_emails=mask, arrow=RICH_ARROW),
                                            md), limit)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(spool, "SPOOL_BYTES", size)
        out = StringIO()
        w = stream.MarkdownWriter(mask_emails=mask, limit=limit)
        for acct in plan.accounts:
            w.add(acct)
        w.finish(plan, out)
    assert out.getvalue() == whole


def _drift_whole(plan: Plan, fmt: str, mask: bool, limit: int) -> str:
    data = drift_view(plan, mask_emails=mask)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "text":
        return _oracle("drift_text_whole.j2", drift=data, paint=paint(False))
    return str(markdown_whole.fit_drift(walk_strings(data, md), limit))


@pytest.mark.parametrize("size", [spool.SPOOL_BYTES, 1], ids=["in-memory", "spilled"])
@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
@given(plan=plans(), mask=st.booleans(), limit=st.sampled_from([LIMIT, 2000, 1500, 1200]))
def test_streamed_drift_is_the_whole_plans_drift(
    size: int, fmt: str, plan: Plan, mask: bool, limit: int
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(spool, "SPOOL_BYTES", size)
        out = StringIO()
        w = DriftWriter(fmt, mask_emails=mask, limit=limit)
        for acct in plan.accounts:
            w.add(acct)
        w.finish(plan, out)
    assert out.getvalue() == _drift_whole(plan, fmt, mask, limit)
    assert w.drifted == bool(drift_view(plan)["summary"]["differences"])


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_the_drift_writer_keeps_no_account_plan_after_add(fmt: str) -> None:
    w = DriftWriter(fmt)
    refs = []
    for build in (mitel, ipecs, contoso, partner, quiet):
        acct = build()
        refs.append(weakref.ref(acct))
        w.add(acct)
        del acct
    gc.collect()
    assert [r() for r in refs] == [None] * 5
    out = StringIO()
    w.finish(Plan((), created_at=CREATED_AT), out)
    assert out.getvalue() == _drift_whole(sample_plan(), fmt, False, LIMIT)


@pytest.mark.parametrize("size", [spool.SPOOL_BYTES, 1], ids=["in-memory", "spilled"])
@given(plan=plans(), mask=st.booleans())
def test_streamed_html_is_the_whole_plans_page(size: int, plan: Plan, mask: bool) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(spool, "SPOOL_BYTES", size)
        assert _streamed(plan, "html", mask_emails=mask) == _whole_html(plan, mask)


def test_streamed_html_of_the_sample_is_the_golden_page(spool_size: int) -> None:
    page = _streamed(sample_plan(), "html")
    assert page == (GOLDEN / "sample.html").read_text("utf-8") == _whole_html(
        sample_plan(), False)


@pytest.mark.parametrize("fmt", stream.STREAMED)
def test_a_writer_keeps_no_account_plan_after_add(fmt: str) -> None:
    w = stream.writer(fmt)
    refs = []
    for build in (mitel, ipecs, contoso, partner, quiet):
        acct = build()
        refs.append(weakref.ref(acct))
        w.add(acct)
        del acct
    gc.collect()
    assert [r() for r in refs] == [None] * 5
    out = StringIO()
    w.finish(Plan((), created_at=CREATED_AT), out)
    assert out.getvalue() == render_text(sample_plan(), fmt)


def render_text(plan: Plan, fmt: str) -> str:
    out = StringIO()
    render(plan, fmt, out)
    return out.getvalue()


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
