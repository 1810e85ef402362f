"""apply.yml after a run GitHub replaced while it was pending (or a run that failed): the
accounts changed since the last successful apply include some the merged pull request's
reviewed plan does not hold. Before, each went into a job that apply refused ("not in this
plan, so never reviewed"), the run failed, the last successful apply never moved, and
every later run failed the same way. Now the matrix holds the reviewed accounts only and
the others are named once, in a warning and the job summary. Real CLI, real git, the
workflow's own step (tests/ghactions.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ghactions import WORKFLOWS, Runner, adhoc, demo_repo, git, load, workflow_script


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """Demo accounts; then push B (northwind, its run replaced while pending); then push
    C (contoso, the pull request whose apply runs now). Returns the repo and the commit
    of the last successful apply."""
    root, applied = demo_repo(tmp_path, monkeypatch, ("northwind-mitel", "contoso-c2t"))
    for name, note in (("northwind-mitel", "B"), ("contoso-c2t", "C")):
        path = root / "accounts" / f"{name}.yaml"
        path.write_text(path.read_text() + f"# pull request {note}\n")
        git(root, "commit", "-q", "-am", f"pull request {note}")
    return root, applied


def test_accounts_left_by_a_replaced_run_are_named_not_sent_to_a_failing_job(
    repo: tuple[Path, str], tmp_path: Path
) -> None:
    root, applied = repo
    (tmp_path / "runner").mkdir()
    r = Runner(tmp_path / "runner", real_reconciler=True, workdir=root)
    apply_wf = load(WORKFLOWS / "apply.yml")
    assert r.run(adhoc("reconciler sandbox reset\n"), {}).returncode == 0
    # pull request C's reviewed plan holds its own account only
    made = r.run(adhoc("reconciler plan accounts/contoso-c2t.yaml "
                       "-o plans/reviewed/plan.json\n"), {})
    assert made.returncode == 0, made.stderr

    r.summary.write_text("")
    step = r.run(workflow_script(apply_wf, "changed", "Reviewed accounts"), {"BASE": applied})
    assert step.returncode == 0, step.stderr
    matrix = json.loads(r.outputs()["matrix"])
    assert [job["files"] for job in matrix["include"]] == ["accounts/contoso-c2t.yaml"]
    left = (f"warning: accounts/northwind-mitel.yaml (northwind) changed since {applied} but "
            "is not in the reviewed plan plans/reviewed/plan.json: not applied; plan it in a "
            "pull request")
    assert left in step.stderr.splitlines()
    assert ("::warning::accounts changed since the last successful apply are not in the "
            "reviewed plan and were not applied (see the job summary)") in step.stdout
    assert left in r.summary.read_text()

    # each job of that matrix applies: none is refused as never reviewed
    for job in matrix["include"]:
        done = r.run(adhoc(f"reconciler apply plans/reviewed/plan.json {job['files']} "
                           "--auto-approve\n"), {})
        assert done.returncode == 0, done.stdout + done.stderr
    # what the job holding northwind would have met before
    refused = r.run(adhoc("reconciler apply plans/reviewed/plan.json "
                          "accounts/northwind-mitel.yaml --auto-approve\n"), {})
    assert refused.returncode == 1 and "not in this plan, so never reviewed" in refused.stderr


def test_the_apply_jobs_get_the_reviewed_accounts_matrix() -> None:
    apply_wf = load(WORKFLOWS / "apply.yml")
    changed = apply_wf["jobs"]["changed"]
    assert changed["outputs"]["matrix"] == (
        "${{ steps.reviewed-accounts.outputs.matrix || steps.changed.outputs.matrix }}")
    names = [s.get("name") for s in changed["steps"]]
    assert names.index("Check the reviewed plan") < names.index("Reviewed accounts")
    assert "--plan plans/reviewed/plan.json" in workflow_script(
        apply_wf, "changed", "Reviewed accounts").run


def test_changed_plan_keeps_what_the_plan_holds_and_names_the_rest(
    repo: tuple[Path, str], tmp_path: Path
) -> None:
    root, applied = repo
    (tmp_path / "runner").mkdir()
    r = Runner(tmp_path / "runner", real_reconciler=True, workdir=root)
    assert r.run(adhoc("reconciler plan accounts/northwind-mitel.yaml "
                       "-o plans/p.json\n"), {}).returncode == 0
    text = r.run(adhoc(f"reconciler changed --base {applied} --plan plans/p.json\n"), {})
    assert text.returncode == 0, text.stderr
    assert text.stdout.split() == ["northwind", "accounts/northwind-mitel.yaml", "modified"]
    assert text.stderr.startswith("warning: accounts/contoso-c2t.yaml (contoso) changed since")
    missing = r.run(adhoc(f"reconciler changed --base {applied} --plan plans/nope.json\n"), {})
    assert (missing.returncode, missing.stderr) == (
        1, "plans/nope.json: no such plan file\n")
