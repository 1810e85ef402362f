"""apply of many accounts without holding them (reconciler.apply_stream, spool.PlanShelf):
the report written account by account is the whole report's, the plans put aside come
back as they were, and the plan shown is the one applied even though its files are read
again."""

from __future__ import annotations

import gc
import json
import weakref
from io import StringIO
from pathlib import Path

import pytest
from apply_helpers import invoke, workspace
from hypothesis import given
from hypothesis import strategies as st
from render_sample import contoso, ipecs, mitel, partner, quiet

from reconciler.apply_json import apply_json
from reconciler.apply_stream import ReportWriter, Stake
from reconciler.cli import apply_cmd
from reconciler.plan import AccountPlan
from reconciler.progress import AccountReport, ApplyReport, StepResult, report_lines
from reconciler.spool import PlanShelf, Shelved

STATUSES = ["done", "pending", "waiting", "manual", "failed", "failed-transient", "skipped"]


@st.composite
def reports(draw: st.DrawFn) -> ApplyReport:
    made = []
    for build in draw(st.lists(st.sampled_from([mitel, ipecs, contoso, partner]), max_size=4)):
        acct = build()
        results = tuple(
            StepResult(step, draw(st.sampled_from(STATUSES)),
                       draw(st.sampled_from(["", "refused: ü <x>", "line 1\nline 2"])))
            for step in acct.steps[:draw(st.integers(0, len(acct.steps)))])
        made.append(AccountReport(acct.account, acct.platform, results,
                                  draw(st.integers(0, 2)), draw(st.sampled_from(["", "boom"])),
                                  draw(st.sampled_from(["", "plan already applied"]))))
    return ApplyReport(tuple(made))


@given(report=reports(), books=st.lists(st.tuples(st.sampled_from(["a", "ü"]),
                                                  st.lists(st.just("runbooks/a.md"))),
                                        max_size=2))
def test_the_report_written_account_by_account_is_the_whole_report(
    report: ApplyReport, books: list[tuple[str, list[str]]]
) -> None:
    for fmt in ("text", "json"):
        writer = ReportWriter(fmt)
        for account in report.accounts:
            writer.add(account)
        assert writer.exit_code == report.exit_code
        out = StringIO()
        writer.finish(out, int(report.exit_code), books)
        if fmt == "json":
            whole = json.dumps(apply_json(report, books, int(report.exit_code)), indent=2)
        else:
            whole = "\n".join(report_lines(report))
        assert out.getvalue() == whole + "\n"


def test_the_question_is_the_whole_plans() -> None:
    accounts = [mitel(), ipecs(), contoso(), partner(), quiet()]
    stake = Stake()
    for acct in accounts:
        stake.add(acct)
    assert stake.question() == Stake.of(accounts).question() == (
        "Apply 18 steps to 3 accounts, monthly -10.50 USD, one-time 75.00 USD? "
        "Only 'yes' is accepted:")
    assert str(stake.blocked) == (
        "plan is blocked by policy (account northwind: 1006 Erin Ellis: downgrade advanced "
        "-> standard is not allowed; set allow_downgrade or pass --allow-downgrade); "
        "nothing applied")


@pytest.mark.parametrize("size", [1, 1 << 20], ids=["on-disk", "in-memory"])
def test_the_shelf_gives_back_the_plans_it_was_given_and_keeps_none(
    size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler import spool

    monkeypatch.setattr(spool, "SPOOL_BYTES", size)
    shelf = PlanShelf()
    refs = []
    for i, build in enumerate((mitel, ipecs, contoso, partner, quiet)):
        acct = build()
        refs.append(weakref.ref(acct))
        shelf.append((acct, f"note {i}"))
        del acct
    gc.collect()
    assert [r() for r in refs] == [None] * 5
    assert len(shelf) == 5
    assert shelf[3] == (partner(), "note 3")
    assert list(shelf.plans()) == [mitel(), ipecs(), contoso(), partner(), quiet()]
    shelf.close()
    shelved: Shelved[AccountPlan] = Shelved()
    for build in (mitel, ipecs):
        acct = build()
        refs.append(weakref.ref(acct))
        shelved[acct.account] = acct
        del acct
    gc.collect()
    assert refs[-1]() is refs[-2]() is None
    assert dict(shelved) == {"northwind": mitel(), "vertical-demo": ipecs()}
    shelved.close()


def test_the_plan_shown_is_applied_even_if_a_file_is_edited_while_apply_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """apply plans each account again under its lock from the desired state it showed
    (kept on disk while it asks, not read again): the file edited meanwhile is for the next
    plan, and the plan confirmed is the one written."""
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    path = ws / "accounts" / "northwind-mitel.yaml"
    text = path.read_text()

    def answer(*_: object, **__: object) -> str:
        path.write_text(text.replace("profile: essentials", "profile: advanced", 1))
        return "yes"

    monkeypatch.setattr(apply_cmd, "stdin_is_tty", lambda: True)
    monkeypatch.setattr(apply_cmd.click, "prompt", answer)
    result = invoke(ws, "apply", "--allow-downgrade")
    assert result.exit_code == 0, result.output
    assert ("northwind: s1 change_profile (Swap) user 1003: done: swapped 1003 from "
            "Telephony CLOUD to Essentials CLOUD\n") in result.stdout
    assert result.stdout.endswith("Apply report:\n  northwind (mitel-connect): converged - "
                                  "3 done\nResult: converged (exit 0)\n")
    again = invoke(ws, "plan", "--allow-downgrade")
    assert "~ Swap 1003 Carol Chen: essentials -> advanced" in again.stdout
