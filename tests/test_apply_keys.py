"""Idempotency keys and locks follow intents and platform accounts (docs/steps.md).

The same change made again on the same platform day, after the state moved on, is a new
request: create -> delete -> create, rename A -> B -> A -> B, iPECS order +1 -> return -1
-> +1; through PATHS and through saved plans, with and without lost answers. Two files
naming one platform account share one lock, whatever their slugs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import REPO, invoke, open_sandbox, workspace

from reconciler.sandbox.faults import FAULTS_ENV

NORTHWIND = (REPO / "accounts" / "northwind-mitel.yaml").read_text()
VERTICAL = (REPO / "accounts" / "vertical-demo.yaml").read_text()
FRANK = """\
  - extension: 1007
    name: Frank Foster
    email: frank@northwind.example
    profile: standard
    add_ons: [teams-integration]
"""
FRANK_GONE = "  - extension: 1007\n    absent: true\n"


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    monkeypatch.delenv("RECONCILER_MITEL_ROLE", raising=False)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


def _account(ws: Path, slug: str) -> dict[str, Any]:
    box = open_sandbox(ws)
    try:
        today = box.today()
        (acct,) = [a for a in box.snapshot()["accounts"] if a["account"] == slug]
        pool = {p["package"]: p["quantity"] for p in acct["pool"]}
        return {**acct, "today": today, "pool": pool}
    finally:
        box.close()


def _apply(ws: Path, how: str) -> str:
    """Apply the account files as they are now: by PATHS, or plan -o then apply PLANFILE."""
    if how == "paths":
        result = invoke(ws, "apply", "accounts/", "--auto-approve")
    else:
        made = invoke(ws, "plan", "-o", "plans/plan.json")
        assert made.exit_code == 0, made.output
        result = invoke(ws, "apply", "plans/plan.json")
    assert result.exit_code == 0, result.output
    return result.output


HOW = ["paths", "saved plan"]
FAULTS = [None, "lost_response=0.5,seed=3", "lost_response=0.5,seed=11"]


def _with(faults: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if faults:
        monkeypatch.setenv(FAULTS_ENV, faults)


@pytest.mark.parametrize("faults", FAULTS)
@pytest.mark.parametrize("how", HOW)
def test_create_delete_create_on_one_day_creates_the_user_again(
    tmp_path: Path, how: str, faults: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    path = ws / "accounts" / "northwind-mitel.yaml"
    _with(faults, monkeypatch)
    day = _account(ws, "northwind")["today"]
    ids = []
    for text, present in ((NORTHWIND, True), (NORTHWIND.replace(FRANK, FRANK_GONE), False),
                          (NORTHWIND, True)):
        path.write_text(text)
        _apply(ws, how)
        acct = _account(ws, "northwind")
        frank = [u for u in acct["users"] if u["extension"] == 1007]
        assert bool(frank) is present, (text, acct["users"])
        ids.extend(u["user_id"] for u in frank)
        assert acct["today"] == day
    assert len(set(ids)) == 2  # a new user the second time, not the first one's answer
    # paid twice: the user was really created twice
    charges = [c for c in _account(ws, "northwind")["charges"] if c["extension"] == 1007]
    assert len(charges) == 4  # the profile's NRC and the Teams set-up, each time


@pytest.mark.parametrize("faults", FAULTS)
@pytest.mark.parametrize("how", HOW)
def test_rename_back_and_forth_on_one_day_renames_each_time(
    tmp_path: Path, how: str, faults: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    path = ws / "accounts" / "northwind-mitel.yaml"
    path.write_text(NORTHWIND)
    _apply(ws, how)
    _with(faults, monkeypatch)
    for name in ("Lobby", "Lobby Phone", "Lobby", "Lobby Phone"):
        path.write_text(NORTHWIND.replace("    name: Lobby Phone\n", f"    name: {name}\n"))
        _apply(ws, how)
        (lobby,) = [u for u in _account(ws, "northwind")["users"] if u["extension"] == 1005]
        assert lobby["name"] == name


@pytest.mark.parametrize("faults", FAULTS)
@pytest.mark.parametrize("how", HOW)
def test_ipecs_order_return_order_on_one_day_orders_again(
    tmp_path: Path, how: str, faults: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace(tmp_path, demo=("vertical-demo",))
    path = ws / "accounts" / "vertical-demo.yaml"
    _apply(ws, how)  # the demo change: Premium 2 -> 3, Basic 3 -> 2
    _with(faults, monkeypatch)
    pool = "licences:\n  Premium iPECS ONE USER: {}\n  Basic User With VM: 2\n  Stand Alone VM: 1\n"
    for premium in (4, 3, 4):
        path.write_text(VERTICAL + pool.format(premium))
        _apply(ws, how)
        acct = _account(ws, "vertical-demo")
        assert acct["pool"]["Premium iPECS ONE USER"] == premium, acct["pool"]
    orders = [(o["package"], o["delta"], o["state"]) for o in acct["orders"]]
    assert orders[-3:] == [
        ("Premium iPECS ONE USER", 1, "confirmed"),
        ("Premium iPECS ONE USER", -1, "confirmed"),
        ("Premium iPECS ONE USER", 1, "confirmed"),
    ]
    assert len({o["order_id"] for o in acct["orders"]}) == len(acct["orders"])


# ------------------------------------------------------------------------ locks

TWIN = """\
account: {slug}
platform: ipecs-cloud
external_id: C000000150
name: Vertical Demo
sites:
  Vertical Demo: {{extensions: "100-299"}}
licences:
  Premium iPECS ONE USER: 12
  Basic User With VM: 2
  Stand Alone VM: 1
users:
""" + VERTICAL.split("users:\n", 1)[1]


def _apply_process(ws: Path, *args: str, faults: str) -> Callable[[], tuple[int, str]]:
    env = {k: v for k, v in os.environ.items() if k != FAULTS_ENV}
    env[FAULTS_ENV] = faults
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "--auto-approve", *args],
        cwd=ws, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )

    def finish() -> tuple[int, str]:
        out, err = proc.communicate(timeout=120)
        return proc.returncode, out + err

    return finish


@pytest.mark.parametrize("trial", range(4))
def test_two_slugs_of_one_platform_account_applied_at_once_order_once(
    tmp_path: Path, trial: int
) -> None:
    # the reproduction: two files, different slugs, the same external id, applied
    # at the same time under transient faults; the old per-slug lock let both order
    ws = workspace(tmp_path, accounts={"a.yaml": TWIN.format(slug="vertical-a")})
    (ws / "other").mkdir()
    (ws / "other" / "b.yaml").write_text(TWIN.format(slug="vertical-b"))
    open_sandbox(ws).close()  # seeded once, before the two processes race
    faults = f"transient=0.3,seed={trial}"
    runs = [_apply_process(ws, "accounts/a.yaml", faults=faults),
            _apply_process(ws, "other/b.yaml", faults=faults)]
    results = [finish() for finish in runs]
    for code, output in results:
        assert code in (0, 1), output
        if code == 1:
            assert ("is locked by apply pid" in output or "plan is stale" in output
                    or "failed" in output), output
    box = open_sandbox(ws)
    try:
        (acct,) = [a for a in box.snapshot()["accounts"] if a["external_id"] == "C000000150"]
        pool = {p["package"]: p["quantity"] for p in acct["pool"]}
        ordered = sum(o["delta"] for o in acct["orders"]
                      if o["package"] == "Premium iPECS ONE USER" and o["delta"] > 0)
    finally:
        box.close()
    assert ordered <= 10  # 2 -> 12: one order of +10 at most, never two
    assert pool["Premium iPECS ONE USER"] <= 12


def test_renaming_the_slug_does_not_give_a_second_lock(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("vertical-demo",))
    from reconciler.state import Scope, StateStore

    with StateStore(ws / ".reconciler" / "state.db") as store:
        store.acquire(Scope("ipecs-cloud", "C000000150"), "vertical-demo", pid=4242,
                      host="ci-7")
    path = ws / "accounts" / "vertical-demo.yaml"
    path.write_text(VERTICAL.replace("account: vertical-demo", "account: vertical-renamed"))
    locked = invoke(ws, "apply", "--auto-approve")
    assert locked.exit_code == 1
    assert locked.stderr.startswith(
        "error: account vertical-demo (ipecs-cloud C000000150) is locked by apply pid 4242 "
        "on host ci-7 since "
    )
    assert _account(ws, "vertical-renamed")["orders"] == []
    unlocked = invoke(ws, "unlock", "vertical-renamed")  # by the file's new slug
    assert unlocked.exit_code == 0, unlocked.output
    assert invoke(ws, "apply", "--auto-approve").exit_code == 0
