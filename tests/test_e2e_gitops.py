"""End to end, the way GitHub runs it: a repository with two commits (the demo accounts,
then a pull request's change to one of them) goes through the workflows' own steps with the
real CLI against the sandbox: validate -> changed -> plan (pull request), changed -> apply
(merge), drift (nightly, with a stub `gh`). Only checkout, setup-python and the comment /
artifact actions are left out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ghactions import (
    WORKFLOWS,
    Runner,
    action_env_for,
    action_script,
    adhoc,
    demo_repo,
    git,
    load,
    step,
    workflow_script,
)

ACCOUNT_FILE = "accounts/vertical-demo.yaml"
INTERNAL_FILE = "accounts/partner-internal.yaml"  # its plan is a Service Desk request


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """The demo accounts committed, then one pull-request commit renaming a user of
    vertical-demo, adding a user, and touching partner-internal (whose pending demo change
    is a Service Desk request). Returns the repository and the first commit."""
    root, first = demo_repo(tmp_path, monkeypatch, ignore=".reconciler/\nplans/\ndrift/\n")

    account = root / ACCOUNT_FILE
    text = account.read_text()
    assert "    name: Loading Dock\n" in text
    text = text.replace("    name: Loading Dock\n", "    name: Loading Bay\n")
    text += ("  - extension: 212\n    name: Yard\n    site: Vertical Demo\n"
             "    profile: Basic User With VM\n")
    account.write_text(text)
    internal = root / INTERNAL_FILE
    internal.write_text(internal.read_text() + "# reviewed by the partner team\n")
    git(root, "commit", "-q", "-am", "vertical-demo: rename 211, add 212; partner-internal")
    return root, first


def test_pull_request_merge_and_nightly_drift_run_the_same_cli(
    repo: tuple[Path, str], tmp_path: Path
) -> None:
    root, first = repo
    home = tmp_path / "runner"
    home.mkdir()
    r = Runner(home, real_reconciler=True, workdir=root)
    plan_wf, apply_wf = load(WORKFLOWS / "plan.yml"), load(WORKFLOWS / "apply.yml")
    action = action_script()

    reset = r.run(adhoc("reconciler sandbox reset\n"), {})
    assert reset.returncode == 0, reset.stderr

    # ---- pull request (plan.yml) --------------------------------------------------
    validate = r.run(action, action_env_for(step(plan_wf, "plan", "Validate")))
    assert (validate.returncode, r.outputs()["exit-code"]) == (0, "0"), validate.stdout

    changed = r.run(workflow_script(plan_wf, "plan", "Changed accounts"), {"BASE": first})
    assert changed.returncode == 0, changed.stderr
    assert r.outputs()["files"].split() == [INTERNAL_FILE, ACCOUNT_FILE]
    assert (root / "plans" / "changed.txt").read_text() == (
        f"partner-internal  {INTERNAL_FILE}  modified\n"
        f"vertical-demo     {ACCOUNT_FILE}     modified\n")

    plan_step = step(plan_wf, "plan", "Plan")
    # the base branch is the first commit here (origin/<base> in a pull request)
    extra = plan_step["with"]["extra-args"].replace("origin/${{ github.base_ref }}", first)
    plan = r.run(action, action_env_for(plan_step, PATHS=r.outputs()["files"],
                                        EXTRA_ARGS=extra))
    assert plan.returncode == 0, plan.stderr
    assert r.outputs()["exit-code"] == "2", (root / "plans" / "plan.md").read_text()
    comment = (root / "plans" / "plan.md").read_text()
    assert "Loading Bay" in comment and "Yard" in comment
    assert "Service Desk" in comment
    assert f"from `{first}` at `{first[:12]}`</sub>" in comment  # the commit planned from
    assert len(comment) < 65536  # GitHub's comment limit
    assert r.summary.read_text().endswith(comment)  # the job summary shows it too
    saved = json.loads((root / "plans" / "plan.json").read_text())
    assert [a["account"] for a in saved["accounts"]] == ["partner-internal", "vertical-demo"]

    # ---- merge (apply.yml) ----------------------------------------------------------
    changed = r.run(workflow_script(apply_wf, "changed", "Changed accounts"), {"BEFORE": first})
    assert changed.returncode == 0, changed.stderr
    matrix = json.loads(r.outputs()["matrix"])
    assert [(j["accounts"], j["files"]) for j in matrix["include"]] == [
        ("partner-internal", INTERNAL_FILE), ("vertical-demo", ACCOUNT_FILE)]

    # the plan reviewed on the pull request (plan.yml's artifact; the artifact actions are
    # left out): made again from main's files and the live state, shown to the approver
    (root / "plans" / "reviewed").mkdir()
    shutil.copy(root / "plans" / "plan.json", root / "plans" / "reviewed" / "plan.json")
    r.summary.write_text("")
    check = r.run(workflow_script(apply_wf, "changed", "Check the reviewed plan"), {"PR": "7"})
    assert check.returncode == 0, check.stdout + check.stderr
    review = r.summary.read_text()
    assert review.startswith("### To apply: the plan reviewed on pull request #7\n")
    assert "Loading Bay" in review and "Yard" in review  # read before approving

    apply_step = step(apply_wf, "apply", "Apply")
    results: dict[str, tuple[str, str, str]] = {}
    for entry in matrix["include"]:  # one job per shard (here one account each)
        r.summary.write_text("")
        paths = apply_step["with"]["paths"].replace("${{ matrix.files }}", entry["files"])
        applied = r.run(action, action_env_for(apply_step, PATHS=paths))
        assert applied.returncode == 0, applied.stdout + applied.stderr  # never red for 3
        results[entry["accounts"]] = (r.outputs()["exit-code"], applied.stdout,
                                      r.summary.read_text())
    assert results["vertical-demo"][0] == "0", results["vertical-demo"][1]
    code, log, summary = results["partner-internal"]
    assert code == "3", log
    assert "::warning::reconciler apply: waiting on an approval or a manual step" in log
    assert "Please amend subscription C2TU-I25" in summary  # the pending list, summarised

    again = r.run(adhoc(f"reconciler plan {ACCOUNT_FILE} --detailed-exitcode\n"), {})
    assert again.returncode == 0, again.stdout  # converged: nothing left to do

    # ---- nightly (drift.yml): vertical-demo is in sync, so its old issue is closed ----
    drift_script = workflow_script(load(WORKFLOWS / "drift.yml"), "drift", "Drift issues")
    r.spec = {"gh": {"label create": ["", "", 0], "issue list": ["3\tDrift: vertical-demo\n",
                                                                  "", 0],
                     "issue create": ["", "", 0], "issue edit": ["", "", 0],
                     "issue close": ["", "", 0]}}
    every = "\n".join(sorted(str(p.relative_to(root)) for p in (root / "accounts").glob("*.yaml")))
    nightly = r.run(drift_script, {"RUN_URL": "https://example.test/run/1", "FILES": every})
    assert nightly.returncode == 0, nightly.stdout + nightly.stderr
    gh_calls = r.calls("gh")
    assert ["issue", "close", "3", "--comment",
            "No drift any more (checked by https://example.test/run/1)."] in gh_calls
    # the demo accounts nobody applied still differ from their files, partner-internal too
    # (its Service Desk request is not done): one issue each
    assert sorted(c[3] for c in gh_calls if c[:2] == ["issue", "create"]) == [
        "Drift: contoso", "Drift: northwind", "Drift: partner-internal"]

    # ---- someone changes the platform by hand: the next night opens an issue ----------
    assert r.run(adhoc("reconciler sandbox reset\n"), {}).returncode == 0
    r.log.unlink()
    r.spec["gh"]["issue list"] = ["", "", 0]
    nightly = r.run(drift_script, {"RUN_URL": "https://example.test/run/2", "FILES": every})
    assert ["issue", "create", "--title", "Drift: vertical-demo", "--label", "drift",
            "--body-file", "drift/vertical-demo.md"] in r.calls("gh"), nightly.stdout
    report = (root / "drift" / "vertical-demo.md").read_text()
    assert "Loading" in report


def test_a_merge_whose_plan_differs_from_the_reviewed_one_applies_nothing(
    repo: tuple[Path, str], tmp_path: Path
) -> None:
    root, _ = repo
    home = tmp_path / "runner"
    home.mkdir()
    r = Runner(home, real_reconciler=True, workdir=root)
    apply_wf = load(WORKFLOWS / "apply.yml")
    assert r.run(adhoc("reconciler sandbox reset\n"), {}).returncode == 0
    made = r.run(adhoc(f"reconciler plan {ACCOUNT_FILE} -o plans/reviewed/plan.json\n"), {})
    assert made.returncode == 0, made.stderr
    # after the review, another change to the account reaches main without a new plan
    account = root / ACCOUNT_FILE
    account.write_text(account.read_text().replace("name: Yard", "name: Yard Office"))
    git(root, "commit", "-q", "-am", "vertical-demo: 212 is the yard office")

    r.summary.write_text("")
    check = r.run(workflow_script(apply_wf, "changed", "Check the reviewed plan"), {"PR": "7"})
    assert check.returncode == 1
    assert ("::error::the plan of main differs from the plan reviewed on pull request #7 "
            "(see the job summary); nothing applied") in check.stdout
    summary = r.summary.read_text()
    assert summary.startswith("### Not applied: the plan of main differs from the plan "
                              "reviewed on pull request #7\n")
    assert f"{ACCOUNT_FILE} changed since the plan was made" in summary

    # and the apply job, had it run, refuses the reviewed plan too: nothing is written
    before = r.run(adhoc("reconciler sandbox show --format json\n"), {}).stdout
    paths = step(apply_wf, "apply", "Apply")["with"]["paths"].replace(
        "${{ matrix.files }}", ACCOUNT_FILE)
    applied = r.run(action_script(), action_env_for(step(apply_wf, "apply", "Apply"),
                                                    PATHS=paths))
    assert applied.returncode == 1
    assert r.outputs()["exit-code"] == "1"
    assert r.run(adhoc("reconciler sandbox show --format json\n"), {}).stdout == before
