"""What you review is what is applied: a saved plan is never taken on trust. Apply (and
``show --verify``) make it again from the files it was made from and the live state, and
refuse, with the difference and nothing written, unless it is the same plan."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import REPO, invoke, open_sandbox, workspace, world

from reconciler.sandbox.faults import FAULTS_ENV

NORTHWIND = (REPO / "accounts" / "northwind-mitel.yaml").read_text()
#: Erin's downgrade without its allow: the plan is blocked by policy
BLOCKED = NORTHWIND.replace("    allow_downgrade: true\n", "")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    monkeypatch.delenv("RECONCILER_MITEL_ROLE", raising=False)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)


def _world(ws: Path) -> list[dict[str, Any]]:
    box = open_sandbox(ws)
    try:
        return world(box)
    finally:
        box.close()


def _saved(ws: Path, *args: str) -> dict[str, Any]:
    result = invoke(ws, "plan", "-o", "plans/plan.json", *args)
    assert result.exit_code in (0, 1), result.output
    data: dict[str, Any] = json.loads((ws / "plans" / "plan.json").read_text())
    return data


def _write(ws: Path, data: dict[str, Any], *, redigest: bool) -> None:
    """Write an edited plan; ``redigest``: as a forger would, with a matching digest."""
    if redigest:  # as schemas/plan.schema.json documents it
        content = {k: v for k, v in data.items() if k != "digest"}
        blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        data["digest"] = "sha256:" + hashlib.sha256(blob.encode()).hexdigest()
    (ws / "plans" / "plan.json").write_text(json.dumps(data, indent=2))


def _account(data: dict[str, Any], slug: str) -> dict[str, Any]:
    (acct,) = [a for a in data["accounts"] if a["account"] == slug]
    return acct


# ------------------------------------------------------------------ edited plans


@pytest.mark.parametrize("redigest", [False, True])
def test_deleting_blocked_from_a_saved_plan_never_applies_the_downgrade(
    tmp_path: Path, redigest: bool
) -> None:
    ws = workspace(tmp_path, accounts={"northwind-mitel.yaml": BLOCKED})
    data = _saved(ws)
    assert _account(data, "northwind")["blocked"]
    _account(data, "northwind")["blocked"] = []
    data["summary"]["blocked"] = 0
    _write(ws, data, redigest=redigest)
    start = _world(ws)
    result = invoke(ws, "apply", "plans/plan.json")
    assert result.exit_code == 1
    last = result.stderr.splitlines()[-1]
    if redigest:
        assert last == (
            "error: plan does not match the plan made now from the same files and live state "
            "(account northwind): the plan file was edited, or reconciler's rules changed; "
            "nothing applied; make the plan again and review it"
        )
        assert any(line.startswith('  + verdict {"blocking":true,"message":"downgrade not '
                                   "allowed: 1006") for line in result.stderr.splitlines())
    else:
        assert last == ("plans/plan.json: plan file was modified after it was made (its "
                        "content does not match its digest): make the plan again")
    assert _world(ws) == start


def test_editing_a_steps_after_applies_nothing_and_shows_the_difference(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    data = _saved(ws)
    (swap,) = [s for s in _account(data, "northwind")["steps"] if s.get("user") == 1003]
    assert swap["after"]["profile"] == "essentials"
    swap["after"]["profile"] = "advanced"  # what the reviewer did not see
    _write(ws, data, redigest=True)
    start = _world(ws)
    result = invoke(ws, "apply", "plans/plan.json")
    assert result.exit_code == 1
    diff = [line for line in result.stderr.splitlines() if line.startswith(("  -", "  +"))]
    assert len(diff) == 2
    assert diff[0].startswith("  - step s1 change_profile 1003 ") and '"advanced"' in diff[0]
    assert diff[1].startswith("  + step s1 change_profile 1003 ") and '"essentials"' in diff[1]
    assert _world(ws) == start


def test_forged_costs_are_refused_by_show_and_proven_only_by_verify(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    data = _saved(ws)
    _account(data, "northwind")["cost"].update(monthly_after="0.00", monthly_delta="-232.00")
    _write(ws, data, redigest=False)
    shown = invoke(ws, "show", "plans/plan.json")
    assert shown.exit_code == 1
    assert shown.stdout == ""
    assert shown.stderr.endswith("plan file was modified after it was made (its content does "
                                 "not match its digest): make the plan again\n")
    _write(ws, data, redigest=True)  # a forger who recomputes the digest
    verified = invoke(ws, "show", "plans/plan.json", "--verify")
    assert verified.exit_code == 1
    assert verified.stdout == ""  # nothing printed from the forged plan
    diff = [line for line in verified.stderr.splitlines() if line.startswith(("  -", "  +"))]
    assert [line[:9] for line in diff] == ["  - cost ", "  + cost "]
    assert '"monthly_after":"0.00"' in diff[0] and '"monthly_after":"228.00"' in diff[1]


def test_show_verify_prints_a_plan_that_is_the_plan_made_now(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    _saved(ws)
    verified = invoke(ws, "show", "plans/plan.json", "--verify")
    assert verified.exit_code == 0, verified.stderr
    assert "Swap 1003 Carol Chen" in verified.output


# ------------------------------------------------------------ the desired state


def test_a_plan_whose_account_file_changed_since_is_stale(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    _saved(ws)
    path = ws / "accounts" / "northwind-mitel.yaml"
    path.write_text(NORTHWIND.replace("profile: essentials ", "profile: advanced "))
    start = _world(ws)
    result = invoke(ws, "apply", "plans/plan.json")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: plan is stale: accounts/northwind-mitel.yaml changed since the plan was made "
        "(account northwind); nothing applied; make the plan again and review it"
    )
    assert _world(ws) == start


def test_a_saved_plan_names_the_bytes_each_account_was_planned_from(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The digest is of the bytes the loader read (each account file is read once), so a
    file edited while the plan was made cannot pass as the one planned."""
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    path = ws / "accounts" / "northwind-mitel.yaml"
    planned = path.read_bytes()
    reads: list[str] = []
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == path.name:
            reads.append(str(self))
            if len(reads) > 1:  # edited after the loader read it
                path.write_text(NORTHWIND.replace("profile: essentials ", "profile: advanced "))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    data = _saved(ws)
    assert len(reads) == 1
    assert _account(data, "northwind")["source"]["file"] == (
        "sha256:" + hashlib.sha256(planned).hexdigest())


def test_a_plan_whose_price_book_appeared_since_is_stale(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel",))
    _saved(ws)
    (ws / "pricebook.yaml").write_text("currency: USD\n")
    result = invoke(ws, "apply", "plans/plan.json")
    assert result.exit_code == 1
    assert "the price book is new since the plan was made" in result.stderr


def test_a_plan_made_with_allow_downgrade_is_applied_with_it(tmp_path: Path) -> None:
    ws = workspace(tmp_path, accounts={"northwind-mitel.yaml": BLOCKED})
    data = _saved(ws, "--allow-downgrade")
    assert data["options"] == {"allow_downgrade": True, "force": False}
    result = invoke(ws, "apply", "plans/plan.json")
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------- applied already


def test_applying_an_applied_plan_says_so_instead_of_stale(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel", "vertical-demo"))
    _saved(ws)
    assert invoke(ws, "apply", "plans/plan.json").exit_code == 0
    after = _world(ws)
    again = invoke(ws, "apply", "plans/plan.json")
    assert again.exit_code == 0, again.output
    assert "stale" not in again.output + again.stderr
    lines = again.output.splitlines()
    assert "  northwind (mitel-connect): already applied" in lines
    i = lines.index("  vertical-demo (ipecs-cloud): already applied")
    assert lines[i + 1].startswith("    plan already applied (run ")
    assert lines[i + 1].endswith("; nothing left to do")
    assert _world(ws) == after


def test_a_plan_applies_only_the_account_files_named_and_refuses_one_it_lacks(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path, demo=("northwind-mitel", "vertical-demo", "contoso-c2t"))
    made = invoke(ws, "plan", "accounts/northwind-mitel.yaml", "accounts/vertical-demo.yaml",
                  "-o", "plans/plan.json")
    assert made.exit_code == 0, made.output
    start = _world(ws)
    missing = invoke(ws, "apply", "plans/plan.json", "accounts/contoso-c2t.yaml")
    assert missing.exit_code == 1
    assert missing.stderr == ("plans/plan.json: accounts/contoso-c2t.yaml: not in this plan, "
                              "so never reviewed; plan it (a pull request) before applying it\n")
    assert _world(ws) == start
    one = invoke(ws, "apply", "plans/plan.json", "accounts/vertical-demo.yaml")
    assert one.exit_code == 0, one.output
    assert "vertical-demo (ipecs-cloud): converged" in one.output
    assert "northwind" not in one.stdout
