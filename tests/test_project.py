"""The project is found as git finds its repository: reconciler.yaml from the current
directory up to the repository root, PATHS beside it; -C DIR; outside a project, one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

REPO = Path(__file__).parent.parent
CONFIG = "sandbox: {path: .sandbox/sandbox.db}\nstate: {path: .sandbox/state.db}\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)  # a repository root as git marks it
    shutil.copytree(REPO / "accounts", root / "accounts")
    (root / "reconciler.yaml").write_text(CONFIG)
    (root / "docs" / "deeper").mkdir(parents=True)
    for var in ("RECONCILER_SANDBOX_FAULTS", "RECONCILER_MITEL_ROLE", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    return root


def test_plan_from_a_subdirectory_uses_the_project_above(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "docs" / "deeper")
    result = CliRunner().invoke(cli, ["plan"])
    assert result.exit_code == 0, result.output
    assert "northwind · Mitel Connect CLOUD CC-104233 · ../../accounts/northwind-mitel.yaml" \
        in result.stdout
    # the sandbox of the configuration found, not a new one here
    assert (project / ".sandbox" / "sandbox.db").exists()
    assert list((project / "docs" / "deeper").iterdir()) == []


def test_chdir_runs_as_if_started_there(project: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["-C", str(project), "validate"])
    assert result.exit_code == 0, result.output
    assert "4 accounts valid" in result.output


def test_config_file_names_the_accounts_beside_it(project: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["plan", "--config", str(project / "reconciler.yaml")])
    assert result.exit_code == 0, result.output
    assert f"{project}/accounts/northwind-mitel.yaml" in result.stdout


def test_no_config_above_the_repository_root_is_looked_for(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = project / "nested"
    (inner / ".git").mkdir(parents=True)  # another repository inside: its own root
    monkeypatch.chdir(inner)
    result = CliRunner().invoke(cli, ["plan"])
    assert result.exit_code == 1
    assert "no reconciler project here" in result.output


def test_outside_a_project_says_so_and_makes_no_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    for command in (["plan"], ["validate"], ["drift"], ["apply", "--auto-approve"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 1, (command, result.output)
        assert result.output.splitlines()[-1] == (
            f"error: no reconciler project here: no reconciler.yaml in {tmp_path} or above it "
            "(up to the repository root) and no accounts/ directory; run it in your account "
            "repository, or pass -C DIR, --config FILE or the account files"), command
    assert sorted(p.name for p in tmp_path.iterdir()) == [".git"]
