"""``reconciler apply``, ``history`` and ``unlock`` against the embedded sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import invoke, open_sandbox, subprocess_apply, workspace, world

from reconciler.cli import apply_cmd
from reconciler.plan import Step
from reconciler.planio import load_plan
from reconciler.sandbox.faults import FAULTS_ENV
from reconciler.state import Scope, StateStore

#: the real time.sleep, for subprocess.run's own wait loop (never for the code under test)
_REAL_SLEEP = time.sleep
NORTHWIND = Scope("mitel-connect", "CC-104233")
MANUAL_APPROVAL = "providers:\n  ipecs-cloud: {approval: manual}\n"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    monkeypatch.delenv("RECONCILER_MITEL_ROLE", raising=False)
    monkeypatch.delenv("GITHUB_ACTOR", raising=False)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


def _world(ws: Path) -> list[dict[str, Any]]:
    box = open_sandbox(ws)
    try:
        return world(box)
    finally:
        box.close()


def _bills(ws: Path) -> dict[str, Decimal]:
    return {a["account"]: Decimal(a["billed_monthly"]) for a in _world(ws)}


def _orders(ws: Path, slug: str) -> list[dict[str, Any]]:
    box = open_sandbox(ws)
    try:
        (account,) = [a for a in box.snapshot()["accounts"] if a["account"] == slug]
        return list(account["orders"])
    finally:
        box.close()


def _plan_json(ws: Path, *args: str) -> dict[str, Any]:
    result = invoke(ws, "plan", "--format", "json", *args)
    data: dict[str, Any] = json.loads(result.output)
    return data


# --------------------------------------------------------------------- the demo


def test_demo_accounts_converge_bar_the_service_desk_step(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    before = {a["account"]: a for a in _plan_json(ws)["accounts"]}
    result = invoke(ws, "apply", "accounts/", "--auto-approve")
    assert result.exit_code == 3, result.output
    assert "Result: waiting on approval or a manual step (exit 3)" in result.output
    assert "  partner-internal (call2teams): manual step - 1 manual" in result.output
    assert (
        "             Please amend subscription C2TU-I25 on account C2T-00001 (Partner Internal)"
        " from 10 to 12 licences." in result.output
    )
    lines = result.output.splitlines()
    assert "  contoso (call2teams): converged - 1 done" in lines
    assert "  northwind (mitel-connect): converged - 3 done" in lines
    assert "  vertical-demo (ipecs-cloud): converged - 6 done" in lines
    after = {a["account"]: a for a in _plan_json(ws)["accounts"]}
    assert {slug: [s["action"] for s in a["steps"]] for slug, a in after.items()} == {
        "contoso": [],
        "northwind": [],
        "partner-internal": ["manual"],
        "vertical-demo": [],
    }
    bills = _bills(ws)
    for slug in ("contoso", "northwind", "vertical-demo"):
        assert bills[slug] == Decimal(before[slug]["cost"]["monthly_after"]), slug
    # the Service Desk has not acted yet: that account is billed as before
    assert bills["partner-internal"] == Decimal(
        before["partner-internal"]["cost"]["monthly_before"]
    )


def test_a_second_apply_does_nothing_but_repeat_the_manual_step(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    invoke(ws, "apply", "--auto-approve")
    first = _world(ws)
    again = invoke(ws, "apply", "--auto-approve")
    assert again.exit_code == 3
    assert ": done" not in again.output
    assert _world(ws) == first


def test_apply_asks_on_a_terminal_and_no_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    monkeypatch.setattr(apply_cmd, "stdin_is_tty", lambda: True)
    start = _world(ws)
    no = invoke(ws, "apply", input="y\n")  # only the word is accepted
    assert no.exit_code == 1
    assert ("Apply 3 steps to 1 account, monthly -4.00 USD, one-time 45.00 USD? "
            "Only 'yes' is accepted:") in no.output
    assert _world(ws) == start
    yes = invoke(ws, "apply", input="yes\n")
    assert yes.exit_code == 0, yes.output
    assert "Result: converged (exit 0)" in yes.output


def test_without_a_terminal_apply_needs_auto_approve(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    start = _world(ws)
    result = invoke(ws, "apply")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: refusing to apply without confirmation: no terminal to ask on; "
        "pass --auto-approve or apply a reviewed saved plan"
    )
    assert _world(ws) == start


def test_a_blocked_plan_is_refused_and_nothing_written(tmp_path: Path) -> None:
    text = (workspace(tmp_path / "src") / "accounts" / "northwind-mitel.yaml").read_text()
    ws = workspace(
        tmp_path,
        accounts={"northwind-mitel.yaml": text.replace("    allow_downgrade: true\n", "")},
    )
    start = _world(ws)
    result = invoke(ws, "apply", "--auto-approve")
    assert result.exit_code == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: plan is blocked by policy (account northwind: ")
    assert last.endswith("); nothing applied")
    assert _world(ws) == start
    allowed = invoke(ws, "apply", "--auto-approve", "--allow-downgrade", "--account", "northwind")
    assert allowed.exit_code == 0, allowed.output


# ----------------------------------------------------------------- saved plans


def test_a_saved_plan_applies_without_asking(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("vertical-demo", "contoso-c2t"))
    assert invoke(ws, "plan", "-o", "plans/plan.json").exit_code == 0
    result = invoke(ws, "apply", "plans/plan.json")
    assert result.exit_code == 0, result.output
    assert "vertical-demo: s6 confirm_order (Order Final Confirm) Basic User With VM: done" in (
        result.output
    )
    assert _plan_json(ws)["summary"]["steps"] == 0


def test_a_stale_saved_plan_is_refused_before_any_write(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("vertical-demo", "contoso-c2t"))
    invoke(ws, "plan", "-o", "plans/plan.json")
    # someone renames 202 in the portal after the plan was made
    box = open_sandbox(ws)
    box.perform("ipecs-cloud", "C000000150",
                Step("x", "update_user", user=202, after={"name": "Front Desk"}), "by-hand")
    box.close()
    start = _world(ws)
    result = invoke(ws, "apply", "plans/plan.json")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[-1] == (
        "error: plan is stale: the platform changed since the plan was made "
        "(account vertical-demo); nothing applied; make the plan again and review it"
    )
    # the difference: the rename step now starts from the name given by hand
    assert any(line.startswith("  - step s3 update_user 202 ") and '"Sales"' in line
               for line in lines), lines
    assert any(line.startswith("  + step s3 update_user 202 ") and '"Front Desk"' in line
               for line in lines), lines
    assert _world(ws) == start  # contoso, not stale, was not applied either


def test_a_saved_plan_for_one_account(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("vertical-demo", "contoso-c2t"))
    invoke(ws, "plan", "-o", "plans/plan.json")
    assert len(load_plan(ws / "plans" / "plan.json").accounts) == 2
    result = invoke(ws, "apply", "plans/plan.json", "--account", "contoso")
    assert result.exit_code == 0
    assert "vertical-demo" not in result.output
    missing = invoke(ws, "apply", "plans/plan.json", "--account", "contosso")
    assert missing.exit_code == 1
    assert missing.stderr == (
        'plans/plan.json: no account "contosso" in this plan (did you mean "contoso"?)\n'
    )


# ------------------------------------------------------------ approval and failure


def test_an_order_waiting_on_approval_exits_3_and_a_later_run_continues_it(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path, demo=("vertical-demo",), config=MANUAL_APPROVAL)
    first = invoke(ws, "apply", "--auto-approve", "--wait-seconds", "0")
    assert first.exit_code == 3, first.output
    (pending,) = _orders(ws, "vertical-demo")
    order = pending["order_id"]
    assert (
        f"    pending  s2 confirm_order (Order Final Confirm) Premium iPECS ONE USER: order "
        f"{order} (+1 Premium iPECS ONE USER) is submitted, waiting on the platform's approval"
    ) in first.output
    assert "  vertical-demo (ipecs-cloud): waiting on approval - 2 done, 1 pending, 3 waiting" in (
        first.output
    )
    still = invoke(ws, "apply", "--auto-approve", "--wait-seconds", "0")
    assert still.exit_code == 3
    assert invoke(ws, "sandbox", "approve", order).exit_code == 0
    done = invoke(ws, "apply", "--auto-approve", "--wait-seconds", "0")
    # the -1 order of the old package now waits in turn
    assert done.exit_code == 3, done.output
    orders = _orders(ws, "vertical-demo")
    assert [(o["package"], o["delta"], o["state"]) for o in orders] == [
        ("Premium iPECS ONE USER", 1, "confirmed"),
        ("Basic User With VM", -1, "submitted"),
    ]


def test_a_rejected_order_is_ordered_again_the_same_day_as_a_new_request(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path, demo=("vertical-demo",), config=MANUAL_APPROVAL)
    assert invoke(ws, "apply", "--auto-approve", "--wait-seconds", "0").exit_code == 3
    (first,) = _orders(ws, "vertical-demo")
    assert invoke(ws, "sandbox", "reject", first["order_id"]).exit_code == 0
    plan = invoke(ws, "plan")
    assert f"change order {first['order_id']} (+1 Premium iPECS ONE USER) was rejected" in (
        plan.output
    )
    again = invoke(ws, "apply", "--auto-approve", "--wait-seconds", "0")
    assert again.exit_code == 3, again.output
    orders = _orders(ws, "vertical-demo")
    assert [(o["package"], o["delta"], o["state"]) for o in orders] == [
        ("Premium iPECS ONE USER", 1, "rejected"),
        ("Premium iPECS ONE USER", 1, "submitted"),
    ]
    assert orders[1]["order_id"] != first["order_id"]


def test_a_credential_the_platform_would_refuse_blocks_at_plan_time_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Preflight: a Mitel role that cannot swap or add users used to fail each step at
    apply (after other accounts were written); the plan now blocks before any write."""
    ws = workspace(tmp_path, demo=("northwind-mitel", "vertical-demo"))
    before = _world(ws)
    monkeypatch.setenv("RECONCILER_MITEL_ROLE", "billing-contact")
    plan = invoke(ws, "plan")
    assert plan.exit_code == 1
    assert (
        "  BLOCKED (credential): the credential's Mitel Connect role is billing-contact: "
        "Mitel Connect CLOUD refuses 3 steps of this plan (s1 Swap 1003, s2 Swap 1006, "
        "s3 Add User 1007); they need the role decision-maker or phone-manager"
    ) in plan.output.splitlines()
    result = invoke(ws, "apply", "--auto-approve")
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].endswith("phone-manager); nothing applied")
    assert _world(ws) == before
    monkeypatch.setenv("RECONCILER_MITEL_ROLE", "phone-manager")
    assert invoke(ws, "plan").exit_code == 0


# ------------------------------------------------------------------ locks


def test_a_second_apply_of_a_locked_account_gets_the_lock_message_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Apply #1 (in this process) holds vertical-demo while it waits for an order's
    approval; apply #2 (another process) starts meanwhile and must refuse."""
    ws = workspace(tmp_path, demo=("vertical-demo",), config=MANUAL_APPROVAL)
    waiting, go = threading.Event(), threading.Event()

    def poll_sleep(seconds: float) -> None:
        # only apply's own polling: not another thread's, nor subprocess.run's wait loop
        # in apply #1's thread (git log for the journal's commit stamp)
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if threading.current_thread() is not thread or caller == "subprocess":
            _REAL_SLEEP(seconds)
            return
        waiting.set()  # apply #1 polls for the order's approval
        assert go.wait(60)

    monkeypatch.setattr(time, "sleep", poll_sleep)
    first: dict[str, Any] = {}
    thread = threading.Thread(
        # a short wait: once released, apply #1 waits (without sleeping) only that long
        # for the approval of its second order
        target=lambda: first.update(
            result=invoke(ws, "apply", "--auto-approve", "--wait-seconds", "0.3")
        )
    )
    thread.start()
    try:
        while not waiting.wait(0.05):
            assert thread.is_alive(), first["result"].output
        during = _world(ws)
        second = subprocess_apply(ws, "--auto-approve")
        assert second.returncode == 1
        message = second.stderr.strip().splitlines()[-1]
        assert message.startswith(
            "error: account vertical-demo (ipecs-cloud C000000150) is locked by apply pid "
        )
        assert message.endswith("; if that run is dead, run: reconciler unlock vertical-demo")
        assert _world(ws) == during  # the second run wrote nothing
        (order,) = _orders(ws, "vertical-demo")
        box = open_sandbox(ws)
        box.approve(int(order["order_id"]))
        box.close()
    finally:
        go.set()
        thread.join(60)
    assert first["result"].exit_code == 3  # the -1 order then waits in turn (manual approval)
    assert "  vertical-demo (ipecs-cloud): waiting on approval - 5 done, 1 pending" in (
        first["result"].output
    )


def test_unlock_breaks_a_lock_left_on_another_host(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    with StateStore(ws / ".reconciler" / "state.db") as store:
        store.acquire(NORTHWIND, "northwind", pid=4242, host="ci-7")
    locked = invoke(ws, "apply", "--auto-approve")
    assert locked.exit_code == 1
    assert locked.stderr.startswith(
        "error: account northwind (mitel-connect CC-104233) is locked by apply pid 4242 on "
        "host ci-7 since "
    )
    unlocked = invoke(ws, "unlock", "northwind")
    assert unlocked.exit_code == 0
    assert unlocked.output.startswith(
        "unlocked account northwind (mitel-connect CC-104233; held by apply pid 4242 on host "
        "ci-7 since "
    )
    again = invoke(ws, "unlock", "northwind")
    assert again.exit_code == 1
    assert again.stderr == "error: account northwind is not locked\n"
    assert invoke(ws, "apply", "--auto-approve").exit_code == 0


# ------------------------------------------------------------------ history


def test_history_lists_each_applied_step_with_commit_and_actor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel", "vertical-demo"))
    git = ["git", "-C", str(ws), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "accounts"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "accounts"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    invoke(ws, "apply", "--auto-approve")
    text = invoke(ws, "history", "--account", "northwind").output.splitlines()
    assert len(text) == 3
    assert (
        " northwind  s1 change_profile 1003  done  commit " + head[:12] + "  by octocat  ("
        in (text[0])
    )
    data = json.loads(invoke(ws, "history", "--format", "json").output)["entries"]
    # accounts are applied several at a time: each account's steps are in order, the
    # accounts' entries interleave as they happened
    assert [(e["step_id"], e["result"]) for e in data if e["account"] == "northwind"] == [
        ("s1", "done"), ("s2", "done"), ("s3", "done"),
    ]
    assert [e["step_id"] for e in data if e["account"] == "vertical-demo"][0] == "s1"
    assert {e["git_commit"] for e in data} == {head}
    assert {e["actor"] for e in data} == {"octocat"}
    assert (
        len(json.loads(invoke(ws, "history", "--format", "json", "--limit", "2").output)["entries"])
        == 2
    )


def test_history_before_any_apply(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    result = invoke(ws, "history", "--account", "northwind")
    assert result.exit_code == 0
    assert result.output == "no applied steps recorded for account northwind\n"
    assert not (ws / ".reconciler" / "state.db").exists()


def test_the_same_change_again_on_a_later_day_is_performed_again(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    path = ws / "accounts" / "northwind-mitel.yaml"
    upgraded = path.read_text()
    back = upgraded.replace("profile: essentials          # upgraded", "profile: telephony  #")
    assert invoke(ws, "apply", "--auto-approve").exit_code == 0
    for text in (back, upgraded):  # down again, then up again: the first change repeated
        path.write_text(text)
        assert invoke(ws, "sandbox", "advance-clock", "1").exit_code == 0
        result = invoke(ws, "apply", "--auto-approve", "--allow-downgrade")
        assert result.exit_code == 0, result.output
    (carol,) = [
        u
        for a in _world(ws)
        if a["account"] == "northwind"
        for u in a["users"]
        if u["extension"] == 1003
    ]
    assert carol["profile"] == "essentials"


def test_unlock_json_says_whose_lock_it_broke(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    with StateStore(ws / ".reconciler" / "state.db") as store:
        store.acquire(NORTHWIND, "northwind", pid=4242, host="ci-7")
    result = invoke(ws, "unlock", "northwind", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["account"] == "northwind"
    (lock,) = data["unlocked"]
    assert (lock["scope"], lock["owner"], lock["pid"], lock["host"]) == (
        "mitel-connect CC-104233", "apply", 4242, "ci-7")
    missing = invoke(ws, "unlock", "northwind", "--format", "json")
    assert missing.exit_code == 1 and missing.stdout == ""
