"""The GitHub workflows and the composite action: actionlint is clean, the shape the docs
promise holds, and the few lines of shell glue do what a user sees on GitHub (run here
with stub `reconciler` and `gh` commands, the way a runner runs a step)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml
from ghactions import (
    ACTION,
    ROOT,
    WORKFLOWS,
    Runner,
    Script,
    action_env,
    action_script,
    load,
    step,
    workflow_script,
)

PATHS = ["accounts/**", "pricebook.yaml", "reconciler.yaml"]


CHECKOUT = "d23441a48e516b6c34aea4fa41551a30e30af803"


def tool(name: str) -> str:
    """A linter binary from the test extras; missing is a failure, never a skip."""
    beside = Path(sysconfig.get_path("scripts")) / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: run pip install -e '.[test]'")
    return found


def actionlint(*files: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [tool("actionlint"), "-oneline", "-no-color", "-shellcheck", tool("shellcheck"),
           "-pyflakes", "", *map(str, files)]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


def step_names(doc: dict[str, Any], job: str) -> list[str]:
    return [s.get("name", s.get("uses", "")) for s in doc["jobs"][job]["steps"]]


# --------------------------------------------------------------------------- actionlint


def test_the_four_workflows_are_there() -> None:
    names = {p.name for p in WORKFLOWS.glob("*.y*ml")}
    assert {"apply.yml", "ci.yml", "drift.yml", "plan.yml"} <= names


def test_actionlint_is_clean_on_every_workflow() -> None:
    # run from the repository root so `uses: ./` is checked against action.yml's inputs
    result = actionlint(*sorted(WORKFLOWS.glob("*.y*ml")), cwd=ROOT)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_actionlint_is_clean_on_the_composite_actions_steps(tmp_path: Path) -> None:
    # actionlint reads action.yml only for its inputs; lint its steps as a workflow whose
    # inputs are the action's, so expressions and shell scripts are checked too.
    action = load(ACTION)
    inputs = {name: {"type": "string", "required": False} for name in action["inputs"]}
    workflow = {
        "name": "action.yml steps",
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": action["runs"]["steps"]}},
    }
    target = tmp_path / ".github" / "workflows" / "action-steps.yml"
    target.parent.mkdir(parents=True)
    target.write_text(yaml.safe_dump(workflow, sort_keys=False))
    result = actionlint(target, cwd=tmp_path)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_actionlint_does_report_mistakes(tmp_path: Path) -> None:
    # the clean runs above mean something only if the linter really looks
    target = tmp_path / ".github" / "workflows" / "bad.yml"
    target.parent.mkdir(parents=True)
    target.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ github.no_such_thing }} $UNQUOTED\n")
    result = actionlint(target, cwd=tmp_path)
    assert result.returncode == 1
    assert "no_such_thing" in result.stdout
    assert "SC2086" in result.stdout  # shellcheck is wired in


# --------------------------------------------------------------------------- shape


def test_plan_runs_on_every_pull_request_so_a_required_check_always_reports() -> None:
    # a workflow a paths filter skips never reports, and a required check then waits forever;
    # `reconciler changed` picks the accounts instead
    plan = load(WORKFLOWS / "plan.yml")
    assert plan["on"] == {"pull_request": None}
    assert plan["permissions"] == {"contents": "read", "pull-requests": "write"}
    nothing = step(plan, "plan", "Plan comment")
    assert nothing["with"]["only_update"] == (
        "${{ steps.validate.outputs.exit-code == '0' && steps.changed.outputs.files == '' }}")


def test_a_forks_pull_request_gets_a_plan_without_a_comment() -> None:
    plan = load(WORKFLOWS / "plan.yml")
    job = plan["jobs"]["plan"]
    assert job["env"]["FORK"] == (
        "${{ github.event.pull_request.head.repo.full_name != github.repository }}")
    assert step(plan, "plan", "Plan comment")["if"] == "env.FORK != 'true'"
    assert step(plan, "plan", "No comment on a fork's pull request")["if"] == "env.FORK == 'true'"
    # the plan itself still runs and goes to the job summary and the artifact
    assert "if" not in step(plan, "plan", "Upload plans") or \
        "FORK" not in step(plan, "plan", "Upload plans")["if"]
    assert step(plan, "plan", "Plan")["with"]["summary"] == "true"


@pytest.mark.parametrize(("workflow", "job", "reader"), [
    ("plan.yml", "plan", "Plan"), ("apply.yml", "apply", "Apply"),
    ("drift.yml", "drift", "Drift issues"),
])
def test_platform_secrets_reach_only_the_step_that_reads_the_platforms(
    workflow: str, job: str, reader: str
) -> None:
    flow = load(WORKFLOWS / workflow)
    holders = [name for name, s in [("job", flow["jobs"][job]), *(
        (s.get("name", s.get("uses")), s) for s in flow["jobs"][job]["steps"])]
        if "secrets." in str(s.get("env", {}))]
    assert holders == [reader]
    for other in flow["jobs"]:  # and no other job of the workflow holds one
        if other != job:
            assert "secrets." not in str(flow["jobs"][other].get("env", {})), other


def test_plan_comments_once_and_fails_only_after_commenting() -> None:
    plan = load(WORKFLOWS / "plan.yml")
    assert step_names(plan, "plan") == [
        f"actions/checkout@{CHECKOUT}", "Validate", "Changed accounts", "Plan",
        "Nothing to plan", "Invalid files", "Plan comment", "No comment on a fork's pull request",
        "Upload plans",
        "Fail when the files are invalid or the plan is blocked"]
    assert step(plan, "plan", "Validate")["with"] == {"command": "validate", "format": "github",
                                                      "fail": "false"}
    run_plan = step(plan, "plan", "Plan")
    assert run_plan["with"]["fail"] == "false"
    assert run_plan["with"]["extra-args"] == (
        "-o plans/plan.json --detailed-exitcode --base-ref origin/${{ github.base_ref }}")
    assert run_plan["with"]["output"] == "plans/plan.md"
    comment = step(plan, "plan", "Plan comment")
    assert re.fullmatch(r"marocchino/sticky-pull-request-comment@[0-9a-f]{40}", comment["uses"])
    assert {k: v for k, v in comment["with"].items() if k != "only_update"} == {
        "header": "reconciler-plan", "path": "plans/plan.md"}
    assert step(plan, "plan", "Upload plans")["with"]["path"] == "plans/"
    assert step(plan, "plan", "Fail when the files are invalid or the plan is blocked")["if"] == (
        "steps.validate.outputs.exit-code != '0' || steps.plan.outputs.exit-code == '1'")
    # whatever happened above (the comment only skipped on a fork, where it cannot be made)
    assert "if" not in step(plan, "plan", "Upload plans")
    assert step(plan, "plan", "Plan comment")["if"] == "env.FORK != 'true'"
    checkout = plan["jobs"]["plan"]["steps"][0]
    assert checkout["with"] == {"fetch-depth": 0}


def test_apply_shards_the_changed_accounts_behind_an_environment_one_run_at_a_time() -> None:
    apply = load(WORKFLOWS / "apply.yml")
    assert apply["on"] == {"push": {"branches": ["main"], "paths": PATHS}}
    # one run at a time, never cancelled while running (a newer push replaces a *pending*
    # run: hence the base below is the last successful apply, docs/ci.md)
    assert apply["concurrency"] == {"group": "reconciler-apply", "cancel-in-progress": False}
    assert apply["jobs"]["changed"]["permissions"] == {
        "contents": "read", "actions": "read", "pull-requests": "read"}
    changed = step(apply, "changed", "Changed accounts")
    assert changed["env"] == {"BEFORE": "${{ github.event.before }}",
                              "GH_TOKEN": "${{ github.token }}"}
    assert "--format json --max-jobs 256" in changed["run"]
    job = apply["jobs"]["apply"]
    assert job["needs"] == "changed"
    assert job["if"] == "fromJSON(needs.changed.outputs.matrix).include[0] != null"
    assert job["environment"] == "production"
    assert "concurrency" not in job  # leases in the state store keep one writer per account
    assert job["strategy"] == {"fail-fast": False,
                               "matrix": "${{ fromJSON(needs.changed.outputs.matrix) }}"}
    assert step(apply, "apply", "Apply")["env"]["RECONCILER_STATE_URL"] == (
        "${{ vars.RECONCILER_STATE_URL }}")
    # what was reviewed on the pull request, only this job's accounts
    assert step(apply, "apply", "The reviewed plan")["with"] == {
        "name": "reviewed-plan", "path": "plans/reviewed"}
    assert step(apply, "apply", "Apply")["with"] == {
        "command": "apply", "paths": "plans/reviewed/plan.json\n${{ matrix.files }}\n",
        "extra-args": "--auto-approve --parallelism 8 --lock-timeout 10m", "summary": "true"}
    # without the shared store the runner's disk goes with the job: keep the journal
    journal = step(apply, "apply", "Keep the apply journal")
    assert journal["if"] == "always()"
    assert journal["uses"].startswith("actions/upload-artifact@")
    assert journal["with"]["path"] == ".reconciler/state.db"
    assert journal["with"]["name"] == "journal-${{ matrix.job }}"


@pytest.mark.parametrize(("last_success", "base"), [
    ("feedc0de\n", "feedc0de"),  # a pending run GitHub replaced left its accounts to us
    ("", "0123abc"),  # no successful apply yet: the push's own before
])
def test_apply_changed_since_the_last_successful_apply(
    tmp_path: Path, last_success: str, base: str
) -> None:
    r = Runner(tmp_path)
    matrix = '{"include":[]}'
    r.spec = {"gh": {"run list": [last_success, "", 0]},
              "reconciler": {f"changed --base {base}": ["", "", 0],
                             f"changed --base {base} --format json --max-jobs 256":
                                 [matrix + "\n", "", 0]}}
    script = workflow_script(load(WORKFLOWS / "apply.yml"), "changed", "Changed accounts")
    result = r.run(script, {"BEFORE": "0123abc"})
    assert result.returncode == 0, result.stderr
    assert r.outputs()["matrix"] == matrix


REVIEWED_ENV = {"REPO": "acme/phones", "SHA": "c0ffee"}


def test_apply_fetches_the_plan_reviewed_on_the_merged_pull_request(tmp_path: Path) -> None:
    r = Runner(tmp_path)
    r.spec = {"gh": {"api repos/acme/phones/commits/c0ffee/pulls": ["7\n", "", 0],
                     "api repos/acme/phones/pulls/7": ["beef42\n", "", 0],
                     "run list": ["991\n", "", 0],
                     "run download": ["", "", 0]}}
    script = workflow_script(load(WORKFLOWS / "apply.yml"), "changed", "Reviewed plan")
    result = r.run(script, REVIEWED_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = r.calls("gh")
    assert ["run", "list", "--workflow", "plan.yml", "--commit", "beef42", "--status",
            "success", "--limit", "1", "--json", "databaseId", "--jq",
            ".[0].databaseId // empty"] in calls
    assert calls[-1] == ["run", "download", "991", "--name", "plan-pr-7", "--dir",
                         "plans/reviewed"]
    assert r.outputs()["pr"] == "7"


@pytest.mark.parametrize(("spec", "error"), [
    ({"api repos/acme/phones/commits/c0ffee/pulls": ["", "", 0]},
     "::error::commit c0ffee was not merged from a pull request: no plan was reviewed for "
     "it, nothing is applied"),
    ({"api repos/acme/phones/commits/c0ffee/pulls": ["7\n", "", 0],
      "api repos/acme/phones/pulls/7": ["beef42\n", "", 0], "run list": ["", "", 0]},
     "::error::pull request #7 has no successful plan of its last commit beef42: nothing "
     "reviewed, nothing is applied"),
])
def test_apply_without_a_reviewed_plan_applies_nothing(
    tmp_path: Path, spec: dict[str, list[Any]], error: str
) -> None:
    r = Runner(tmp_path)
    r.spec = {"gh": spec}
    script = workflow_script(load(WORKFLOWS / "apply.yml"), "changed", "Reviewed plan")
    result = r.run(script, REVIEWED_ENV)
    assert result.returncode == 1
    assert result.stdout.strip() == error
    assert not any(c[:2] == ["run", "download"] for c in r.calls("gh"))


def test_the_approver_sees_the_reviewed_plan_before_the_apply_jobs() -> None:
    apply = load(WORKFLOWS / "apply.yml")
    names = step_names(apply, "changed")
    assert names.index("Reviewed plan") < names.index("Check the reviewed plan")
    check = step(apply, "changed", "Check the reviewed plan")
    assert "reconciler show plans/reviewed/plan.json --verify --format markdown" in (
        check["run"])
    assert "GITHUB_STEP_SUMMARY" in check["run"]
    # the environment-gated jobs need the job that checked and summarised the plan
    assert "environment" not in apply["jobs"]["changed"]
    assert apply["jobs"]["apply"]["needs"] == "changed"


def test_drift_shards_the_fleet_and_each_job_checks_its_files() -> None:
    drift = load(WORKFLOWS / "drift.yml")
    shards = step(drift, "shards", "Shards")
    assert "reconciler changed --all --format json --max-jobs 64" in shards["run"]
    job = drift["jobs"]["drift"]
    assert job["strategy"] == {"fail-fast": False,
                               "matrix": "${{ fromJSON(needs.shards.outputs.matrix) }}"}
    assert step(drift, "drift", "Drift issues")["env"]["FILES"] == "${{ matrix.files }}"


def test_drift_runs_nightly_and_by_hand_and_may_write_issues() -> None:
    drift = load(WORKFLOWS / "drift.yml")
    assert set(drift["on"]) == {"schedule", "workflow_dispatch"}
    assert re.fullmatch(r"\d+ \d+ \* \* \*", drift["on"]["schedule"][0]["cron"])
    assert drift["permissions"] == {"contents": "read", "issues": "write"}


def test_ci_runs_the_projects_ci_script() -> None:
    ci = load(WORKFLOWS / "ci.yml")
    assert step(ci, "test", "Tests")["run"] == "bash .ci/run"


def all_steps() -> list[tuple[str, dict[str, Any]]]:
    found = [(f"action.yml step {s.get('name')}", s) for s in load(ACTION)["runs"]["steps"]]
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job_name, job in load(path)["jobs"].items():
            found += [(f"{path.name} {job_name} {s.get('name', s.get('uses'))}", s)
                      for s in job["steps"]]
    return found


def test_no_expression_is_pasted_into_a_shell_script() -> None:
    # ${{ }} inside run: is a script injection hole (a branch or file name runs as code);
    # every value reaches the scripts through env: instead
    offenders = [where for where, s in all_steps() if "${{" in s.get("run", "")]
    assert offenders == []


def test_every_third_party_action_is_pinned_by_commit_with_its_release() -> None:
    unpinned = [s["uses"] for _, s in all_steps()
                if "uses" in s and not s["uses"].startswith("./")
                and not re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", s["uses"])]
    assert unpinned == []
    # each pin says which release it is, and docs/ci.md lists the same commits
    texts = [p.read_text() for p in [*WORKFLOWS.glob("*.yml"), ROOT / "action.yml"]]
    pins = {m for t in texts for m in re.findall(r"uses: ([\w./-]+@[0-9a-f]{40}) # v\d", t)}
    assert len(pins) == 5
    guide = (ROOT / "docs" / "ci.md").read_text()
    assert all(pin.split("@")[1] in guide for pin in pins)


def test_a_release_workflow_makes_the_tag_the_action_and_pre_commit_name() -> None:
    release = load(WORKFLOWS / "release.yml")
    assert release["on"] == {"push": {"tags": ["v*.*.*"]}}
    assert release["permissions"] == {"contents": "write"}
    run = "\n".join(s.get("run", "") for s in release["jobs"]["release"]["steps"])
    assert 'version=$(sed -n' in run and 'gh release create "$TAG" --verify-tag' in run
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "rev: v0.1.0" in hooks and "commit SHA" in hooks


def test_every_run_step_runs_under_bash_with_pipefail() -> None:
    # GitHub runs a step without `shell:` as `bash -e {0}`: no pipefail, so `a | tee f` or
    # `x=$(a | b)` hides a's failure. Each workflow sets `shell: bash` once for all its
    # steps (no job or step may override it); a composite action has no defaults, so each
    # of its run steps names the shell itself.
    workflows = sorted(WORKFLOWS.glob("*.y*ml"))
    assert {p.name: load(p).get("defaults") for p in workflows} == {
        p.name: {"run": {"shell": "bash"}} for p in workflows}
    overrides = [f"{p.name} {name}" for p in workflows for name, job in load(p)["jobs"].items()
                 if "defaults" in job]
    overrides += [where for where, s in all_steps()
                  if "shell" in s and not where.startswith("action.yml")]
    assert overrides == []
    action_steps = [s for s in load(ACTION)["runs"]["steps"] if "run" in s]
    assert action_steps and [s.get("shell") for s in action_steps] == ["bash"] * len(action_steps)
    scripts = [workflow_script(load(p), job, s["name"]) for p in workflows
               for job, spec in load(p)["jobs"].items() for s in spec["steps"] if "run" in s]
    assert scripts and {s.shell for s in scripts} == {"bash"}


def test_the_emulated_runner_uses_githubs_shell_for_each_step(tmp_path: Path) -> None:
    # the shell glue tests below mean something only if the runner here is GitHub's:
    # without `shell:` a failure before a pipe passes, with `shell: bash` it fails the step
    r = Runner(tmp_path)
    hidden = "x=$(false | tr a b)\nfalse | tee /dev/null\necho reached\n"
    github_default = r.run(Script(hidden, None), {})
    assert (github_default.returncode, github_default.stdout) == (0, "reached\n")
    assert r.run(Script(hidden, "bash"), {}).returncode == 1
    assert Script("", None).argv(Path("s.sh")) == ["bash", "-e", "s.sh"]
    assert Script("", "bash").argv(Path("s.sh")) == [
        "bash", "--noprofile", "--norc", "-eo", "pipefail", "s.sh"]
    assert Script("", "sh").argv(Path("s.sh")) == ["sh", "-e", "s.sh"]
    assert Script("", "bash -x {0}").argv(Path("s.sh")) == ["bash", "-x", "s.sh"]
    # the step's shell, else its job's default, else the workflow's, else none
    doc: dict[str, Any] = {"defaults": {"run": {"shell": "sh"}}, "jobs": {
        "a": {"steps": [{"name": "own", "run": "x", "shell": "python"},
                        {"name": "wf", "run": "x"}]},
        "b": {"defaults": {"run": {"shell": "bash"}}, "steps": [{"name": "job", "run": "x"}]}}}
    assert [workflow_script(doc, job, name).shell for job, name in (
        ("a", "own"), ("a", "wf"), ("b", "job"))] == ["python", "sh", "bash"]
    del doc["defaults"]
    assert workflow_script(doc, "a", "wf").shell is None


def test_pre_commit_hook_validates_account_files() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = {h["id"]: h for h in hooks}["reconciler-validate"]
    assert (hook["entry"], hook["language"], hook["pass_filenames"]) == (
        "reconciler validate", "python", True)
    pattern = re.compile(hook["files"])
    matched = [f for f in ("accounts/a.yaml", "accounts/b.yml", "pricebook.yaml",
                           "docs/accounts/a.yaml", "accounts/notes.md") if pattern.search(f)]
    assert matched == ["accounts/a.yaml", "accounts/b.yml"]


# --------------------------------------------------------------------------- shell glue


ACTION_SCRIPT = action_script()


def test_action_apply_waiting_is_a_warning_with_the_pending_list_in_the_summary(
    tmp_path: Path,
) -> None:
    r = Runner(tmp_path)
    pending = "vertical-demo: waiting\n  order 7: submitted, not approved yet\n"
    r.spec = {"reconciler": {"apply": [pending, "", 3]}}
    result = r.run(ACTION_SCRIPT, action_env(COMMAND="apply", PATHS="accounts/vertical-demo.yaml",
                                             EXTRA_ARGS="--auto-approve"))
    assert result.returncode == 0
    assert r.calls("reconciler") == [["apply", "--auto-approve", "--",
                                      "accounts/vertical-demo.yaml"]]
    assert ("::warning::reconciler apply: waiting on an approval or a manual step (exit 3); "
            "the pending steps are in the job summary") in result.stdout.splitlines()
    assert r.summary.read_text() == f"### reconciler apply\n\n```\n{pending}```\n"
    assert r.outputs()["exit-code"] == "3"


def test_action_apply_error_fails_the_step(tmp_path: Path) -> None:
    r = Runner(tmp_path)
    r.spec = {"reconciler": {"apply": ["", "error: plan is stale\n", 1]}}
    result = r.run(ACTION_SCRIPT, action_env(COMMAND="apply", EXTRA_ARGS="--auto-approve"))
    assert result.returncode == 1
    assert "error: plan is stale" in result.stderr
    assert r.outputs()["exit-code"] == "1"


def test_action_blocked_plan_with_fail_false_succeeds_and_reports_exit_1(tmp_path: Path) -> None:
    r = Runner(tmp_path)
    md = "## Plan\n\n| account | steps |\n|---|---|\n| northwind | 3 (blocked) |\n"
    r.spec = {"reconciler": {"plan": [md, "", 1]}}
    out = tmp_path / "plans" / "plan.md"
    result = r.run(ACTION_SCRIPT, action_env(
        COMMAND="plan", PATHS="accounts/a.yaml\naccounts/b.yaml\n", FORMAT="markdown",
        EXTRA_ARGS="-o plans/plan.json --detailed-exitcode", OUTPUT=str(out),
        SUMMARY="true", FAIL="false"))
    assert result.returncode == 0
    assert r.calls("reconciler") == [["plan", "--format", "markdown", "-o", "plans/plan.json",
                                      "--detailed-exitcode", "--", "accounts/a.yaml",
                                      "accounts/b.yaml"]]
    assert out.read_text() == md
    assert r.summary.read_text() == md  # markdown goes to the summary as it is
    assert r.outputs() == {"exit-code": "1", "output-file": str(out)}


def test_action_error_before_any_output_still_explains_itself(tmp_path: Path) -> None:
    r = Runner(tmp_path)
    r.spec = {"reconciler": {"plan": ["", "accounts/a.yaml:3:10: unknown platform 'mitle'\n", 1]}}
    out = tmp_path / "plan.md"
    r.run(ACTION_SCRIPT, action_env(COMMAND="plan", FORMAT="markdown", OUTPUT=str(out),
                                    FAIL="false"))
    assert out.read_text() == ("**reconciler plan failed** (exit 1):\n\n```\n"
                               "accounts/a.yaml:3:10: unknown platform 'mitle'\n```\n")


def test_action_changes_and_drift_are_notices_not_failures(tmp_path: Path) -> None:
    r = Runner(tmp_path)
    r.spec = {"reconciler": {"plan": ["2 steps\n", "", 2], "drift": ["drifted\n", "", 2]}}
    plan = r.run(ACTION_SCRIPT, action_env(COMMAND="plan", EXTRA_ARGS="--detailed-exitcode"))
    drift = r.run(ACTION_SCRIPT, action_env(COMMAND="drift", ACCOUNT="northwind"))
    assert (plan.returncode, drift.returncode) == (0, 0)
    assert "::notice::reconciler plan: changes found (exit 2)" in plan.stdout
    assert "::notice::reconciler drift: drift found (exit 2)" in drift.stdout
    assert r.calls("reconciler")[1] == ["drift", "--account", "northwind", "--"]


def test_action_output_cannot_inject_workflow_commands(tmp_path: Path) -> None:
    r = Runner(tmp_path)
    r.spec = {"reconciler": {"plan": ["user ::add-mask::x\n::error::forged\n", "", 0],
                             "validate": ["::error file=accounts/a.yaml,line=3::bad\n", "", 1]}}
    plan = r.run(ACTION_SCRIPT, action_env(COMMAND="plan"))
    lines = plan.stdout.splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert lines[0].startswith("::stop-commands::") and token
    assert lines[1:] == ["user ::add-mask::x", "::error::forged", f"::{token}::"]
    # validate --format github: annotations are the point, printed as they are
    validate = r.run(ACTION_SCRIPT, action_env(COMMAND="validate", FORMAT="github"))
    assert validate.stdout.splitlines()[0] == "::error file=accounts/a.yaml,line=3::bad"
    assert validate.returncode == 1


def test_action_refuses_an_unknown_command(tmp_path: Path) -> None:
    r = Runner(tmp_path)
    result = r.run(ACTION_SCRIPT, action_env(COMMAND="destroy"))
    assert result.returncode == 1
    assert result.stdout == ("::error::command must be validate, plan, apply or drift, "
                             "not 'destroy'\n")
    assert r.calls("reconciler") == []


DRIFT_SCRIPT = workflow_script(load(WORKFLOWS / "drift.yml"), "drift", "Drift issues")


def test_drift_opens_updates_and_closes_one_issue_per_account(tmp_path: Path) -> None:
    r = Runner(tmp_path)
    accounts = "".join(f"{a}  accounts/{a}.yaml  all accounts\n"
                       for a in ("alpha", "bravo", "charlie", "delta", "echo"))
    r.spec = {
        "reconciler": {
            "changed --all": [accounts, "", 0],
            "drift --format markdown -- accounts/alpha.yaml": ["alpha drifted\n", "", 2],
            "drift --format markdown -- accounts/bravo.yaml": ["bravo drifted\n", "", 2],
            "drift --format markdown -- accounts/charlie.yaml": ["no drift\n", "", 0],
            "drift --format markdown -- accounts/delta.yaml": ["no drift\n", "", 0],
            "drift --format markdown -- accounts/echo.yaml": [
                "", "error: platform unreachable\n", 1],
        },
        "gh": {
            "label create": ["", "", 0],
            # open drift issues, as `gh ... --jq` prints them: bravo's and charlie's
            "issue list": ["7\tDrift: bravo\n9\tDrift: charlie\n12\tDrift: alpha-two\n", "", 0],
            "issue create": ["https://github.com/o/r/issues/13\n", "", 0],
            "issue edit": ["", "", 0],
            "issue close": ["", "", 0],
        },
    }
    files = "\n".join(f"accounts/{a}.yaml" for a in ("alpha", "bravo", "charlie", "delta", "echo"))
    result = r.run(DRIFT_SCRIPT, {"RUN_URL": "https://github.com/o/r/actions/runs/5",
                                  "FILES": files})
    assert result.returncode == 1  # echo's error fails the job, after every other account
    # the job's own accounts (its shard of the matrix), each file one argument
    assert r.calls("reconciler")[0] == ["changed", "--all", "--", *files.split("\n")]
    assert "::error::reconciler drift accounts/echo.yaml exited 1" in result.stdout
    assert r.calls("gh")[2:] == [
        ["issue", "create", "--title", "Drift: alpha", "--label", "drift",
         "--body-file", "drift/alpha.md"],
        ["issue", "edit", "7", "--body-file", "drift/bravo.md"],
        ["issue", "close", "9", "--comment",
         "No drift any more (checked by https://github.com/o/r/actions/runs/5)."],
    ]
    assert r.calls("gh")[0][:3] == ["label", "create", "drift"]
    assert (tmp_path / "drift" / "alpha.md").read_text() == (
        "alpha drifted\n\n\n_Found by https://github.com/o/r/actions/runs/5_\n")
    assert r.summary.read_text().startswith("### Drift: alpha\n\nalpha drifted\n")


def test_drift_without_drift_or_issues_touches_nothing(tmp_path: Path) -> None:
    r = Runner(tmp_path)
    r.spec = {"reconciler": {"changed --all": ["alpha  accounts/alpha.yaml  all accounts\n",
                                               "", 0],
                             "drift --format markdown -- accounts/alpha.yaml": [
                                 "no drift\n", "", 0]},
              "gh": {"label create": ["", "", 0], "issue list": ["", "", 0]}}
    result = r.run(DRIFT_SCRIPT, {"RUN_URL": "u", "FILES": "accounts/alpha.yaml"})
    assert result.returncode == 0
    assert [c[:2] for c in r.calls("gh")] == [["label", "create"], ["issue", "list"]]


def test_plan_with_only_a_deleted_account_comments_that_nothing_is_planned(
    tmp_path: Path,
) -> None:
    r = Runner(tmp_path)
    (tmp_path / "plans").mkdir()
    deleted = ("old-client  accounts/old-client.yaml  deleted: no longer managed, nothing "
               "changes on its platform\n")
    (tmp_path / "plans" / "changed.txt").write_text(deleted)
    script = workflow_script(load(WORKFLOWS / "plan.yml"), "plan", "Nothing to plan")
    assert r.run(script, {}).returncode == 0
    comment = (tmp_path / "plans" / "plan.md").read_text()
    assert comment == ("### reconciler plan\n\nNo account file to plan in this pull request.\n"
                       f"\n```\n{deleted}```\n")
    assert r.summary.read_text() == comment


@pytest.mark.parametrize(("workflow", "job", "env"), [
    ("plan.yml", "plan", {"BASE": "origin/main"}),
    ("apply.yml", "changed", {"BEFORE": "0123abc"}),
])
def test_changed_accounts_step_fails_when_changed_fails(
    tmp_path: Path, workflow: str, job: str, env: dict[str, str]
) -> None:
    # e.g. a shallow clone without the base commit: the job must stop, not plan nothing
    r = Runner(tmp_path)
    r.spec = {"reconciler": {"changed": ["", "error: unknown git ref\n", 1]}}
    script = workflow_script(load(WORKFLOWS / workflow), job, "Changed accounts")
    result = r.run(script, env)
    assert result.returncode == 1
    assert "error: unknown git ref" in result.stderr
    assert r.output.read_text() == ""  # no `files=` / `matrix=`: "Nothing to plan" never runs


def test_plan_changed_accounts_lists_them_and_passes_the_files_on(tmp_path: Path) -> None:
    r = Runner(tmp_path)
    table = ("contoso    accounts/contoso.yaml    modified\n"
             "old        accounts/old.yaml        deleted: no longer managed, nothing changes "
             "on its platform\n"
             "northwind  accounts/northwind.yaml  added\n")
    r.spec = {"reconciler": {
        "changed --base origin/main": [table, "", 0],
        "changed --base origin/main --format files": [
            "accounts/contoso.yaml\naccounts/northwind.yaml\n", "", 0]}}
    result = r.run(workflow_script(load(WORKFLOWS / "plan.yml"), "plan", "Changed accounts"),
                   {"BASE": "origin/main"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == table
    assert (tmp_path / "plans" / "changed.txt").read_text() == table
    assert r.outputs() == {"files": "accounts/contoso.yaml\naccounts/northwind.yaml"}


def test_plan_with_invalid_files_replaces_the_old_plan_comment_with_the_errors(
    tmp_path: Path,
) -> None:
    r = Runner(tmp_path)
    error = 'accounts/a.yaml:5:11: unknown platform "ipecs-clod" (did you mean "ipecs-cloud"?)\n'
    r.spec = {"reconciler": {"validate": [error, "1 error in 1 file\n", 1]}}
    script = workflow_script(load(WORKFLOWS / "plan.yml"), "plan", "Invalid files")
    assert r.run(script, {}).returncode == 0
    comment = (tmp_path / "plans" / "plan.md").read_text()
    assert comment == (
        "### reconciler plan\n\n**No plan: the account files are not valid.** Each error is "
        "marked on its file and line (Files changed tab):\n\n"
        f"```\n{error}1 error in 1 file\n```\n")


@pytest.mark.parametrize(("validate", "fails"), [
    ("0", "reconciler plan exited 1"), ("1", "the account files are not valid")])
def test_plan_fails_last_saying_why(tmp_path: Path, validate: str, fails: str) -> None:
    r = Runner(tmp_path)
    last = workflow_script(load(WORKFLOWS / "plan.yml"), "plan",
                           "Fail when the files are invalid or the plan is blocked")
    result = r.run(last, {"VALIDATE": validate})
    assert result.returncode == 1
    assert result.stdout.startswith(f"::error::{fails}")


def test_drift_finds_every_open_drift_issue_of_a_5000_account_fleet() -> None:
    """`gh issue list` stops at --limit: with more drifting accounts than that (1,000
    before), the issues past it were not found and each such account got a new duplicate
    issue every night."""
    import re

    drift = load(WORKFLOWS / "drift.yml")
    found = re.search(r"gh issue list --label drift --state open --limit (\d+) ",
                      step(drift, "drift", "Drift issues")["run"])
    assert found is not None and int(found.group(1)) >= 5000
