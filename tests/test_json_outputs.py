"""The JSON formats of apply, history, unlock and drift: real output, on the sandbox,
validated against the documented schemas (schemas/*.schema.json)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from apply_helpers import invoke, workspace

from reconciler.sandbox.faults import FAULTS_ENV
from reconciler.state import Scope, StateStore

SCHEMAS = Path(__file__).parent.parent / "schemas"
MANUAL_APPROVAL = "providers:\n  ipecs-cloud: {approval: manual}\n"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    monkeypatch.delenv("RECONCILER_MITEL_ROLE", raising=False)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


def _valid(name: str, stdout: str) -> dict[str, Any]:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    data: dict[str, Any] = json.loads(stdout)
    jsonschema.Draft202012Validator(schema).validate(data)
    return data


def test_apply_json_is_the_report_alone_on_stdout(tmp_path: Path) -> None:
    ws = workspace(tmp_path, config=MANUAL_APPROVAL)
    result = invoke(ws, "apply", "--auto-approve", "--wait-seconds", "0", "--format", "json")
    assert result.exit_code == 3
    data = _valid("apply", result.stdout)
    assert data["exit_code"] == 3
    assert "Apply report:" not in result.stdout and "Plan:" in result.stderr
    by = {a["account"]: a for a in data["accounts"]}
    vdemo = by["vertical-demo"]
    assert (vdemo["state"], vdemo["exit_code"]) == ("waiting on approval", 3)
    assert [(s["id"], s["status"]) for s in vdemo["steps"]] == [
        ("s1", "done"), ("s3", "done"), ("s2", "pending"),
        ("s4", "waiting"), ("s5", "waiting"), ("s6", "waiting"),
    ]
    assert vdemo["steps"][0]["order_id"] and vdemo["steps"][0]["label"] == "Change Order (+)"
    assert vdemo["steps"][3]["waited_on"] == "s2"
    assert by["northwind"]["state"] == "converged"
    assert data["summary"]["pending"] == 1 and data["summary"]["waiting"] == 3
    # the manual (Service Desk) step is reported, never counted as done
    assert data["summary"]["manual"] == sum(
        1 for a in data["accounts"] for s in a["steps"] if s["mode"] == "manual")

    history = _valid("history", invoke(ws, "history", "--format", "json").stdout)
    assert {e["result"] for e in history["entries"]} == {"done"}
    assert len(history["entries"]) == data["summary"]["done"]


def test_drift_and_unlock_json_follow_their_schemas(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel", "contoso-c2t"))
    drift = invoke(ws, "drift", "--format", "json")
    assert drift.exit_code == 2
    data = _valid("drift", drift.stdout)
    assert data["summary"]["drifted"] == 2
    with StateStore(ws / ".reconciler" / "state.db") as store:
        store.acquire(Scope("mitel-connect", "CC-104233"), "northwind", pid=4242, host="ci-7")
    unlocked = _valid("unlock", invoke(ws, "unlock", "northwind", "--format", "json").stdout)
    assert unlocked["unlocked"][0]["host"] == "ci-7"
    assert _valid("history", invoke(ws, "history", "--format", "json").stdout) == {"entries": []}


def test_a_schema_refuses_what_it_does_not_document() -> None:
    """The schemas are closed: a renamed key would fail the tests above."""
    schema = json.loads((SCHEMAS / "history.schema.json").read_text())
    entry = {"time": "t", "account": "a", "step_id": "s1", "action": "create_user",
             "target": "201", "result": "waiting", "error": "", "detail": "",
             "idempotency_key": "k", "git_commit": None, "actor": "x", "run_id": "r", "plan": ""}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"entries": [entry]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"entries": [{**entry, "result": "done", "extra": 1}]}, schema)


def test_state_locks_lists_the_leases_held_without_breaking_them(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel", "contoso-c2t"))
    assert invoke(ws, "state", "locks").stdout == "No locks held.\n"
    with StateStore(ws / ".reconciler" / "state.db") as store:
        store.acquire(Scope("mitel-connect", "CC-104233"), "northwind", pid=4242,
                      host="ci-7\x1b[31m")
    text = invoke(ws, "state", "locks")
    assert text.exit_code == 0
    (line,) = text.stdout.splitlines()
    assert line.startswith("northwind (mitel-connect CC-104233): held by apply pid 4242 on "
                           "host ci-7\\x1b[31m since "), line
    data = _valid("locks", invoke(ws, "state", "locks", "--format", "json").stdout)
    assert [(lock["account"], lock["scope"], lock["pid"]) for lock in data["locks"]] == [
        ("northwind", "mitel-connect CC-104233", 4242)]
    # nothing was broken: the lock is still there for unlock
    assert _valid("unlock", invoke(ws, "unlock", "northwind", "--format", "json").stdout)
    assert _valid("locks", invoke(ws, "state", "locks", "--format", "json").stdout) == {
        "locks": []}
