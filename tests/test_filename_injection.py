"""A file name is data, never arguments: a pull request adding an account file whose name
carries options, a command substitution, a newline or a leading dash goes through the
workflows' own steps (plan.yml, apply.yml, the composite action) with the real CLI, and
nothing of it reaches reconciler as an option or runs as code; validate and changed refuse
the name in one line naming the file (escaped)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from ghactions import (
    ROOT,
    WORKFLOWS,
    Runner,
    action_env,
    action_env_for,
    action_script,
    adhoc,
    demo_repo,
    git,
    load,
    step,
    workflow_script,
)

from reconciler.cli import cli

ATTACK = "accounts/northwind-mitel.yaml --allow-downgrade --force --config=reconciler.yaml"

RULE = ('account file names may hold only letters, digits, ".", "_", "-" and "/", '
        'and may not start with "-"; rename it')

#: file name -> the start of its one error line (the name escaped) and the reason
VARIANTS = {
    ATTACK: (ATTACK, "the name holds whitespace (a space)"),
    "accounts/evil\n--force.yaml": ("accounts/evil\\n--force.yaml",
                                    "the name holds whitespace (U+000A)"),
    "accounts/evil\t--force.yaml": ("accounts/evil\\t--force.yaml",
                                    "the name holds whitespace (U+0009)"),
    "accounts/$(touch PWNED).yaml": ("accounts/$(touch PWNED).yaml",
                                     'the name holds the character "$"'),
    "accounts/`touch PWNED`.yaml": ("accounts/`touch PWNED`.yaml",
                                    'the name holds the character "`"'),
    "accounts/--force.yaml": ("accounts/--force.yaml",
                              'the name starts with "-" (it would be read as an option)'),
    "accounts/nörthwind.yaml": ("accounts/nörthwind.yaml", 'the name holds the character "ö"'),
    "accounts/north\u202elmay.yaml": ("accounts/north\\u202elmay.yaml",
                                      "the name holds the character U+202E"),
}


def attack_content() -> str:
    """Valid content (a slug and an external id of its own)."""
    text = (ROOT / "accounts" / "northwind-mitel.yaml").read_text()
    return text.replace("account: northwind\n", "account: northwind-two\n").replace(
        "external_id: CC-104233\n", "external_id: CC-999999\n")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """The demo accounts committed; the pull request removes Erin's allow_downgrade in
    northwind (her downgrade is now blocked) and adds the hostile file (named per test)."""
    root, base = demo_repo(tmp_path, monkeypatch)
    northwind = root / "accounts" / "northwind-mitel.yaml"
    text = northwind.read_text()
    assert "    allow_downgrade: true\n" in text
    northwind.write_text(text.replace("    allow_downgrade: true\n", "", 1))
    return root, base


def sandbox_state(r: Runner) -> str:
    shown = r.run(adhoc("reconciler sandbox show --format json\n"), {})
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


@pytest.mark.parametrize("name", list(VARIANTS), ids=lambda n: repr(n)[:40])
def test_hostile_file_name_never_reaches_the_cli_as_arguments(
    repo: tuple[Path, str], tmp_path: Path, name: str
) -> None:
    root, base = repo
    (root / name).write_text(attack_content())
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "pull request")
    shown, reason = VARIANTS[name]
    error = f"{shown}: {reason}; {RULE}"

    home = tmp_path / "runner"
    home.mkdir()
    r = Runner(home, real_reconciler=True, workdir=root)
    plan_wf, apply_wf = load(WORKFLOWS / "plan.yml"), load(WORKFLOWS / "apply.yml")
    action = action_script()
    assert r.run(adhoc("reconciler sandbox reset\n"), {}).returncode == 0
    before = sandbox_state(r)

    # plan.yml: validate refuses the name, as an annotation on that file
    validate = r.run(action, action_env_for(step(plan_wf, "plan", "Validate")))
    assert r.outputs()["exit-code"] == "1", validate.stdout
    annotations = [line for line in validate.stdout.splitlines() if line.startswith("::error")]
    assert len(annotations) == 1, validate.stdout
    assert annotations[0].endswith(f"::{reason}; {RULE}")

    # changed refuses it too, in one line: no file list, no matrix, nothing planned
    for doc, job, env in ((plan_wf, "plan", {"BASE": base}),
                          (apply_wf, "changed", {"BEFORE": base})):
        changed = r.run(workflow_script(doc, job, "Changed accounts"), env)
        assert changed.returncode == 1
        assert changed.stderr.splitlines() == [error]
        assert r.output.read_text() == ""

    # even handed to the action as a matrix entry would give it, the name stays data
    apply = r.run(action, action_env_for(step(apply_wf, "apply", "Apply"), PATHS=name))
    assert r.outputs()["exit-code"] == "1"
    assert apply.returncode == 1
    assert sandbox_state(r) == before  # the blocked downgrade was not applied
    assert not list(root.rglob("PWNED")) and not list(home.rglob("PWNED"))
    assert not (root / "reconciler.yaml").read_text().startswith("PWNED")


def test_the_action_keeps_each_line_of_paths_whole_and_after_a_double_dash(
    tmp_path: Path,
) -> None:
    r = Runner(tmp_path)
    r.spec = {"reconciler": {"plan": ["", "", 0]}}
    paths = f"{ATTACK}\n\naccounts/--force.yaml\naccounts/$(touch PWNED).yaml\n"
    r.run(action_script(), action_env(COMMAND="plan", PATHS=paths))
    assert r.calls("reconciler") == [["plan", "--", ATTACK, "accounts/--force.yaml",
                                      "accounts/$(touch PWNED).yaml"]]
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("name", list(VARIANTS), ids=lambda n: repr(n)[:40])
def test_validate_names_the_file_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "accounts").mkdir()
    (tmp_path / name).write_text(attack_content())
    shown, reason = VARIANTS[name]
    for args in (["validate"], ["validate", "--", name], ["plan"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1, args
        lines = (result.stdout + result.stderr).splitlines()
        assert f"{shown}: {reason}; {RULE}" in lines, (args, lines)
    github = CliRunner().invoke(cli, ["validate", "--format", "github"])
    assert github.stdout.count("\n") == 1  # one annotation, the name cannot break the line
    assert json.loads(CliRunner().invoke(cli, ["validate", "--format", "json"]).stdout)[
        "errors"][0]["message"] == f"{reason}; {RULE}"


def test_plain_names_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "North_wind-2.v1.yml").write_text(attack_content())
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("directory", "reason"), [
    ("a b", "the name holds whitespace (a space)"),
    ("$(touch PWNED)", 'the name holds the character "$"'),
    ("--force", 'the name starts with "-" (it would be read as an option)'),
])
@pytest.mark.parametrize("as_dir", [False, True], ids=["file", "directory"])
def test_validate_checks_the_directories_a_pull_request_names(
    repo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, directory: str, reason: str,
    as_dir: bool,
) -> None:
    """``validate DIR/FILE`` checks the whole path from the repository's top, as
    ``changed`` does, not only the file's own name: a directory added by a pull request
    is as much a name that reaches CI's command lines."""
    root, _ = repo
    (root / "accounts" / directory).mkdir()
    (root / "accounts" / directory / "two.yaml").write_text(attack_content())
    monkeypatch.chdir(root)
    arg = f"accounts/{directory}" + ("" if as_dir else "/two.yaml")
    result = CliRunner().invoke(cli, ["validate", "--", arg])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [f"accounts/{directory}/two.yaml: {reason}; {RULE}"]
    assert result.stderr.splitlines() == ["1 error in 1 file"]
    assert not list(root.rglob("PWNED"))


def test_directories_above_the_repository_are_not_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only what the repository holds is checked: a repository cloned under a directory
    with a space (the user's own) validates."""
    root = tmp_path / "My Repos" / "fleet"
    (root / "accounts").mkdir(parents=True)
    (root / ".git").mkdir()
    shutil.copy(ROOT / "accounts" / "northwind-mitel.yaml", root / "accounts")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate", "--", "My Repos/fleet/accounts"])
    assert result.exit_code == 0, result.output
