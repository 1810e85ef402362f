"""The apply, fault and crash suites through the served sandbox: a real server process on
a free 127.0.0.1 port, the CLI as its client (kind: http). Whatever the network does —
429/503 with Retry-After, answers cut after the write committed, the bridge dying after
any write — re-running apply converges to exactly the world an in-process apply makes."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import (
    TIER_MOVE_YAML,
    invoke,
    open_sandbox,
    tier_move_actual,
    workspace,
    world,
)
from served import CLIENT_TOKEN_ENV, TOKEN, point_at, served, server_config

from reconciler.sandbox.faults import CRASH_STATUS, FAULTS_ENV

CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
#: fault seeds over HTTP (each run starts a server); the in-process suite runs 20
SEEDS = range(3 if CI else 10)
MAX_RUNS = 15


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    monkeypatch.delenv("RECONCILER_MITEL_ROLE", raising=False)
    monkeypatch.setenv(CLIENT_TOKEN_ENV, TOKEN)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)  # backoff and Retry-After


def _world(ws: Path) -> list[dict[str, Any]]:
    box = open_sandbox(ws)
    try:
        return world(box)
    finally:
        box.close()


def _moves(tmp_path: Path) -> Path:
    ws = workspace(tmp_path, demo=("vertical-demo",), accounts={"tiermove.yaml": TIER_MOVE_YAML})
    box = open_sandbox(ws)
    box.load_state([tier_move_actual()])
    box.close()
    return ws


@pytest.fixture(scope="module")
def clean_moves(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The world after a fault-free in-process apply of an iPECS upgrade and a tier move."""
    ws = _moves(tmp_path_factory.mktemp("clean"))
    result = invoke(ws, "apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    return _world(ws)


def test_the_demo_converges_over_http_like_in_process(tmp_path: Path) -> None:
    local = workspace(tmp_path / "local")
    assert invoke(local, "apply", "--auto-approve").exit_code == 3
    ws = workspace(tmp_path / "remote")
    with served(server_config(ws)) as server:
        point_at(ws, server)
        result = invoke(ws, "apply", "--auto-approve")
        assert result.exit_code == 3, result.output
        assert "  vertical-demo (ipecs-cloud): converged - 6 done" in result.output
        again = invoke(ws, "apply", "--auto-approve")
        assert again.exit_code == 3 and ": done" not in again.output
    assert _world(ws) == _world(local)


@pytest.mark.parametrize("seed", SEEDS)
def test_network_faults_converge_without_duplicates(
    tmp_path: Path, clean_moves: list[dict[str, Any]], seed: int
) -> None:
    ws = _moves(tmp_path)
    faults = (f"http429=0.2,http503=0.1,drop_after_commit=0.3,transient=0.1,"
              f"lost_response=0.1,seed={seed}")
    codes: list[int] = []
    with served(server_config(ws), faults=faults) as server:
        point_at(ws, server)
        for _ in range(MAX_RUNS):
            result = invoke(ws, "apply", "--auto-approve")
            codes.append(result.exit_code)
            if result.exit_code == 0:
                break
    assert codes[-1] == 0, codes
    assert _world(ws) == clean_moves


def test_the_bridge_dying_after_any_write_resumes_to_the_clean_world(
    tmp_path: Path, clean_moves: list[dict[str, Any]]
) -> None:
    writes = 11  # +1 order, confirm, rename, package, -1 order, confirm; 5 for C2T
    for n in (range(1, writes + 1) if not CI else (1, 4, 8, 11)):
        ws = _moves(tmp_path / f"crash-{n}")
        config = server_config(ws)
        with served(config, faults=f"crash_after={n}") as server:
            point_at(ws, server)
            crashed = invoke(ws, "apply", "--auto-approve")
            assert crashed.exit_code == 1, (n, crashed.output)
            server.process.wait(10)
            assert server.process.returncode == CRASH_STATUS
        with served(config) as again:  # the bridge restarted on the same state
            (ws / "reconciler.yaml").write_text(
                "sandbox: {path: .reconciler/sandbox.db}\nstate: {path: .reconciler/state.db}\n")
            point_at(ws, again)
            resumed = invoke(ws, "apply", "--auto-approve")
            assert resumed.exit_code == 0, (n, resumed.output)
        assert _world(ws) == clean_moves, f"bridge crash after write {n}"
