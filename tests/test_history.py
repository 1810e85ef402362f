"""``reconciler history``: the writes apply sent and their outcomes, each stamped with the
account file's own last commit (or ``uncommitted``), on a real git repository."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import invoke, workspace

from reconciler.sandbox.faults import FAULTS_ENV

MANUAL_APPROVAL = "providers:\n  ipecs-cloud: {approval: manual}\n"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    monkeypatch.delenv("RECONCILER_MITEL_ROLE", raising=False)
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


def _git(ws: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(ws), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True, text=True, check=True,
    )
    return out.stdout.strip()


def _entries(ws: Path, slug: str) -> list[dict[str, Any]]:
    data = json.loads(invoke(ws, "history", "--format", "json").output)["entries"]
    return [e for e in data if e["account"] == slug]


def test_history_stamps_each_files_last_commit_or_uncommitted(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel", "vertical-demo", "contoso-c2t"))
    _git(ws, "init", "-q")
    _git(ws, "add", "accounts")
    _git(ws, "commit", "-q", "-m", "accounts")
    first = _git(ws, "rev-parse", "HEAD")
    # a later commit touches only vertical-demo: northwind's last commit stays the first
    vertical = ws / "accounts" / "vertical-demo.yaml"
    vertical.write_text(vertical.read_text() + "# reviewed\n")
    _git(ws, "commit", "-q", "-am", "vertical-demo reviewed")
    second = _git(ws, "rev-parse", "HEAD")
    # contoso is edited in the working tree (a comment: the plan is the same)
    contoso = ws / "accounts" / "contoso-c2t.yaml"
    contoso.write_text(contoso.read_text() + "# not committed yet\n")

    invoke(ws, "apply", "--auto-approve")
    northwind, vdemo, c2t = (_entries(ws, s) for s in ("northwind", "vertical-demo", "contoso"))
    assert northwind and vdemo and c2t
    assert {e["git_commit"] for e in northwind} == {first}
    assert {e["git_commit"] for e in vdemo} == {second}
    assert {e["git_commit"] for e in c2t} == {"uncommitted"}
    text = invoke(ws, "history", "--account", "contoso").output.splitlines()
    assert all("  commit uncommitted  by octocat" in line for line in text), text


def test_history_records_writes_not_polls_or_steps_that_sent_nothing(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("vertical-demo",), config=MANUAL_APPROVAL)
    first = invoke(ws, "apply", "--auto-approve", "--wait-seconds", "0")
    # the report shows every step: 2 done, the confirm pending, 3 waiting on it
    assert "2 done, 1 pending, 3 waiting" in first.output, first.output
    entries = _entries(ws, "vertical-demo")
    assert [(e["step_id"], e["action"], e["result"]) for e in entries] == [
        ("s1", "order_licences", "done"), ("s3", "update_user", "done"),
    ]
    assert all(e["idempotency_key"] for e in entries)
    # polling the same unapproved order again writes nothing, so history does not grow
    assert invoke(ws, "apply", "--auto-approve", "--wait-seconds", "0").exit_code == 3
    assert _entries(ws, "vertical-demo") == entries
