"""plan -o FILE writes the format the file's suffix names, and refuses a mismatch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

REPO = Path(__file__).parent.parent


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "accounts", tmp_path / "accounts")
    (tmp_path / "reconciler.yaml").write_text(
        "sandbox: {path: .sandbox/sandbox.db}\nstate: {path: .sandbox/state.db}\n")
    monkeypatch.chdir(tmp_path)
    for var in ("RECONCILER_SANDBOX_FAULTS", "RECONCILER_MITEL_ROLE", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.mark.parametrize(("name", "fmt", "opening"), [
    ("plan.html", "html", "<!DOCTYPE html>"),
    ("plan.md", "markdown", "### reconciler plan"),
    ("plan.txt", "text", "contoso · Call2Teams"),
])
def test_out_writes_the_format_its_suffix_names(demo: Path, name: str, fmt: str,
                                                opening: str) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["plan", "-o", f"plans/{name}"])
    assert made.exit_code == 0, made.output
    written = (demo / "plans" / name).read_text(encoding="utf-8")
    body = written.partition("\n\n")[2] if written.startswith("Using ") else written
    assert opening in written.splitlines()[0] or body.startswith(opening), written[:200]
    assert f"saved the {fmt} plan to plans/{name}" in made.stderr
    # the file holds what --format prints (the time stamp aside)
    printed = runner.invoke(cli, ["plan", "--format", fmt]).stdout
    assert len(written.splitlines()) == len(printed.splitlines())
    with pytest.raises(json.JSONDecodeError):
        json.loads(written)


def test_json_is_the_saved_plan_whatever_format_prints(demo: Path) -> None:
    made = CliRunner().invoke(cli, ["plan", "--format", "markdown", "-o", "plans/p.json"])
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith("### reconciler plan")
    assert "format_version" in json.loads((demo / "plans" / "p.json").read_text())


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "markdown", "-o", "plans/p.html"],
     "-o plans/p.html writes html but --format is markdown; name the file plans/p.md or "
     "drop --format"),
    (["-o", "plans/p.yaml"], "-o plans/p.yaml: name the file .json (the saved plan), .md, "
     ".html or .txt"),
])
def test_a_mismatch_is_refused_before_anything_is_read(demo: Path, args: list[str],
                                                       message: str) -> None:
    result = CliRunner().invoke(cli, ["plan", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert not (demo / "plans").exists()
    assert not (demo / ".sandbox").exists()  # no platform was read
