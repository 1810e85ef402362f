"""apply at a terminal, on a real pseudo-terminal: colour as for plan, a confirmation that
says what is at stake and takes only the word 'yes', a bar that counts only steps done,
and a line saying what apply waits for while it polls an approval."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from terminal import ANSI, Terminal, plain

REPO = Path(__file__).parent.parent
QUESTION = ("Apply 10 steps to 3 accounts, monthly +33.00 USD, one-time 45.00 USD? "
            "Only 'yes' is accepted:")


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "accounts", tmp_path / "accounts")
    (tmp_path / "reconciler.yaml").write_text(
        "sandbox: {path: .sandbox/sandbox.db}\nstate: {path: .sandbox/state.db}\n")
    return tmp_path


def test_confirmation_states_what_is_at_stake_and_applies_on_yes(demo: Path) -> None:
    with Terminal(["apply"], demo) as term:
        term.expect(r"Only 'yes' is accepted: ")
        shown = plain(term.text)
        # the manual Service Desk step is not counted as applied
        assert QUESTION in shown
        assert ANSI.search(term.text), "a terminal gets colour"
        term.send("yes")
        code = term.wait()
    screen = plain(term.text)
    assert code == 3, screen  # converged but for the Service Desk step
    assert "Result: waiting on approval or a manual step (exit 3)" in screen
    # the bar counts steps done only: northwind's three, the manual step beside it
    assert "northwind [########################] 3/3 done" in screen
    assert "partner-internal [------------------------] 0/0 done, 1 manual" in screen
    assert "manual, not applied (the Service Desk request is in the report)" in screen


@pytest.mark.parametrize("answer", ["y", "YES", "", "no"])
def test_anything_but_yes_applies_nothing(demo: Path, answer: str) -> None:
    with Terminal(["apply"], demo) as term:
        term.expect(r"Only 'yes' is accepted: ")
        term.send(answer)
        code = term.wait()
    assert code == 1
    assert "nothing applied" in term.text
    assert "Apply report" not in term.text


@pytest.mark.parametrize(("args", "env"), [(["--no-color"], {}), ([], {"NO_COLOR": "1"})])
def test_no_color(demo: Path, args: list[str], env: dict[str, str]) -> None:
    with Terminal(["apply", *args], demo, env) as term:
        term.expect(r"Only 'yes' is accepted: ")
        term.send("no")
        term.wait()
    # no colour: only the bar's own line control (carriage return, erase to end of line)
    assert not [c for c in ANSI.findall(term.text) if c != "\x1b[K"], term.text


def test_waiting_for_an_approval_says_so_while_it_polls(demo: Path) -> None:
    (demo / "reconciler.yaml").write_text(
        "sandbox: {path: .sandbox/sandbox.db}\nstate: {path: .sandbox/state.db}\n"
        "providers:\n  ipecs-cloud: {kind: sandbox, approval: manual}\n")
    with Terminal(["apply", "accounts/vertical-demo.yaml", "--auto-approve",
                   "--wait-seconds", "3"], demo) as term:
        term.expect(r"waiting for order \d+ to be approved, [0-3] s of 3", timeout=30)
        code = term.wait()
    screen = plain(term.text)
    assert code == 3, screen
    # the upgrade's order waits; the steps that do not need it are done
    assert "1 pending" in screen and "Result: waiting on approval" in screen
    assert "vertical-demo [" in screen and "done" in screen


def test_a_plan_of_manual_steps_only_asks_nothing() -> None:
    from render_sample import CREATED_AT, partner

    from reconciler.cli.apply_cmd import confirmation
    from reconciler.plan import Plan

    assert confirmation(Plan((partner(),), created_at=CREATED_AT)) is None


def test_off_a_terminal_the_wait_is_one_line_per_order() -> None:
    import io

    from reconciler.progress import PlainProgress

    out = io.StringIO()
    progress = PlainProgress(out)
    for waited in (0, 1, 2):
        progress.waiting("vertical-demo", "503037", waited, 30)
    assert out.getvalue() == (
        "vertical-demo: waiting for order 503037 to be approved (up to 30 s)\n")
