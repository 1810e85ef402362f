"""Apply under the sandbox's faults: transient errors and lost answers (in-process, many
seeds) and hard crashes after every possible write (a real subprocess each). Whatever
happens, re-running apply converges to exactly the world a clean run makes: no order,
user or charge twice, no user lost (a user deleted and re-created would change its id)."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import (
    TIER_MOVE_YAML,
    invoke,
    open_sandbox,
    subprocess_apply,
    tier_move_actual,
    workspace,
    world,
)

from reconciler.apply import ApplySettings
from reconciler.cli import apply_cmd
from reconciler.retry import RetryPolicy
from reconciler.sandbox.faults import CRASH_STATUS, FAULTS_ENV

SEEDS = range(20)
#: runs in a row without a step done that count as "stopped making progress" (a run can
#: also fail before doing anything, e.g. a read that outlived its retries)
STUCK = 3
#: bounds a bug; convergence takes far fewer
MAX_RUNS = 20


def _tier_move_and_ipecs(tmp_path: Path) -> Path:
    ws = workspace(tmp_path, demo=("vertical-demo",), accounts={"tiermove.yaml": TIER_MOVE_YAML})
    box = open_sandbox(ws)
    box.load_state([tier_move_actual()])
    box.close()
    return ws


@pytest.fixture(autouse=True)
def _no_faults_no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    monkeypatch.delenv("RECONCILER_MITEL_ROLE", raising=False)
    # retries back off through time.sleep; a test never really waits
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


@pytest.fixture(scope="module")
def clean_demo(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The world after a fault-free apply of the demo accounts plus a tier move."""
    ws = _all_accounts(tmp_path_factory.mktemp("clean-demo"))
    result = invoke(ws, "apply", "--auto-approve")
    assert result.exit_code == 3, result.output  # only the Service Desk step is left
    box = open_sandbox(ws)
    try:
        return world(box)
    finally:
        box.close()


@pytest.fixture(scope="module")
def clean_moves(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], int]:
    """The world after a fault-free apply of an iPECS upgrade and a Call2Teams tier move,
    and how many platform writes that took."""
    ws = _tier_move_and_ipecs(tmp_path_factory.mktemp("clean-moves"))
    result = invoke(ws, "apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    writes = result.output.count(": done")
    box = open_sandbox(ws)
    try:
        return world(box), writes
    finally:
        box.close()


def _all_accounts(tmp_path: Path) -> Path:
    ws = workspace(tmp_path, accounts={"tiermove.yaml": TIER_MOVE_YAML}, demo=_DEMO)
    box = open_sandbox(ws)
    box.load_state([tier_move_actual()])
    box.close()
    return ws


_DEMO = ("contoso-c2t", "northwind-mitel", "partner-internal", "vertical-demo")


@pytest.mark.parametrize("seed", SEEDS)
def test_transient_errors_and_lost_answers_converge_without_duplicates(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clean_demo: list[dict[str, Any]],
    seed: int,
) -> None:
    ws = _all_accounts(tmp_path)
    if seed % 2:
        # few retries: steps fail transiently, get skipped, and later runs must resume
        monkeypatch.setattr(
            apply_cmd,
            "ApplySettings",
            functools.partial(ApplySettings, retry=RetryPolicy(attempts=2)),
        )
    codes, done = [], []
    for run in range(MAX_RUNS):
        # each run draws its own faults (a fixed seed would replay the same ones)
        monkeypatch.setenv(FAULTS_ENV, f"transient=0.3,lost_response=0.2,seed={seed * 100 + run}")
        result = invoke(ws, "apply", "--auto-approve")
        codes.append(result.exit_code)
        done.append(result.output.count(": done"))
        if result.exit_code == 3 or done[-STUCK:] == [0] * STUCK:
            break
    monkeypatch.delenv(FAULTS_ENV)
    assert codes[-1] == 3, f"runs ended with exit codes {codes} ({done} steps done)"
    box = open_sandbox(ws)
    try:
        assert world(box) == clean_demo
    finally:
        box.close()
    again = invoke(ws, "plan", "--format", "json")
    assert '"action": "manual"' in again.output
    assert again.output.count('"action": ') == 1  # the Service Desk step only


def test_every_crash_point_resumes_to_the_clean_world(
    tmp_path: Path, clean_moves: tuple[list[dict[str, Any]], int]
) -> None:
    reference, writes = clean_moves
    assert writes == 11  # +1 order, confirm, rename, package, -1 order, confirm; 5 for C2T
    for n in range(1, writes + 1):
        ws = _tier_move_and_ipecs(tmp_path / f"crash-{n}")
        # crash_after counts the process's writes: one account at a time, so the nth
        # write is the same one on every run
        crashed = subprocess_apply(ws, "--auto-approve", "--parallelism", "1",
                                   faults=f"crash_after={n}")
        assert crashed.returncode == CRASH_STATUS, (n, crashed.stdout, crashed.stderr)
        assert crashed.stdout.count(": done") == n - 1  # the nth answer never arrived
        resumed = invoke(ws, "apply", "--auto-approve")
        assert resumed.exit_code == 0, (n, resumed.output)
        assert "Result: converged (exit 0)" in resumed.output
        box = open_sandbox(ws)
        try:
            assert world(box) == reference, f"crash after write {n}"
        finally:
            box.close()
        assert "No changes" in invoke(ws, "plan").output or _no_steps(ws)


def _no_steps(ws: Path) -> bool:
    return '"steps": []' in invoke(ws, "plan", "--format", "json").output
