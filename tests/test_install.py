"""Reproducible installs: requirements.lock pins every dependency, and every install the
project documents or runs (README, .ci/run, the composite action) uses it; one CI job tests
the newest versions pyproject.toml allows, so drift is a red job, not a broken fresh install."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from ghactions import ACTION, ROOT, WORKFLOWS, load, step
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LOCK = ROOT / "requirements.lock"


def pins() -> dict[str, str]:
    found = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            name, version = line.split("==")
            found[canonicalize_name(name)] = version.strip()
    return found


def test_the_lock_pins_every_dependency_within_what_pyproject_allows() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in
              project["dependencies"] + project["optional-dependencies"]["test"]]
    locked = pins()
    missing = [str(r) for r in wanted if canonicalize_name(r.name) not in locked]
    outside = [f"{r} (locked {locked[canonicalize_name(r.name)]})" for r in wanted
               if canonicalize_name(r.name) in locked
               and not r.specifier.contains(locked[canonicalize_name(r.name)], prereleases=True)]
    # after editing pyproject.toml: refresh the lock (README, "Refreshing the lock file")
    assert (missing, outside) == ([], [])


def test_every_documented_install_uses_the_lock() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "    pip install -c requirements.lock -e . && reconciler plan\n" in readme
    assert "    pip install -c requirements.lock -e '.[test]' && python -m pytest\n" in readme
    assert ("uv pip compile pyproject.toml --extra test --python-version 3.11 --no-header -q "
            "-o requirements.lock") in readme
    install = next(s for s in load(ACTION)["runs"]["steps"]
                   if s.get("name") == "Install reconciler")
    assert '-c "$ACTION_PATH/requirements.lock" -e "$ACTION_PATH"' in install["run"]


def test_ci_tests_the_newest_allowed_versions_daily_but_not_on_pull_requests() -> None:
    ci = load(WORKFLOWS / "ci.yml")
    assert re.fullmatch(r"\d+ \d+ \* \* \*", ci["on"]["schedule"][0]["cron"])
    job = ci["jobs"]["newest"]
    assert job["if"] == "github.event_name != 'pull_request'"
    assert step(ci, "newest", "Tests with the newest allowed versions")["run"] == (
        "bash .ci/run --newest")


FAKE_PYTHON = """#!{python}
import json, os, sys
with open(os.environ["CALLS"], "a") as fh:
    fh.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:3] == ["-m", "venv"]:
    os.makedirs(".venv/bin", exist_ok=True)
    with open(".venv/bin/activate", "w") as fh:
        fh.write("PATH={bin}:$PATH\\n")
"""


def run_ci(tmp_path: Path, *args: str) -> list[list[str]]:
    """.ci/run with python, ruff and mypy recorded instead of run: the commands it gives."""
    tree = tmp_path / "tree"
    (tree / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "run", tree / ".ci" / "run")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python3", "python", "ruff", "mypy"):
        fake = bin_dir / name
        fake.write_text(FAKE_PYTHON.format(python=sys.executable, bin=bin_dir).replace(
            'sys.argv[1:]) + "', f'["{name}", *sys.argv[1:]]) + "'))
        fake.chmod(0o755)
    calls = tmp_path / "calls.jsonl"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls)}
    done = subprocess.run(["bash", str(tree / ".ci" / "run"), *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in calls.read_text().splitlines()]


def installs(calls: list[list[str]]) -> list[list[str]]:
    return [c for c in calls if c[:4] == ["python", "-m", "pip", "install"] and "-e" in c]


def test_ci_run_installs_from_the_lock_and_newest_without_it(tmp_path: Path) -> None:
    locked = run_ci(tmp_path / "locked")
    assert installs(locked) == [["python", "-m", "pip", "install", "-q", "-c",
                                 "requirements.lock", "-e", ".[test]"]]
    assert ["ruff", "check", "."] in locked and ["mypy"] in locked
    newest = run_ci(tmp_path / "newest", "--newest")
    assert installs(newest) == [["python", "-m", "pip", "install", "-q", "--upgrade",
                                 "--upgrade-strategy", "eager", "-e", ".[test]"]]
    assert ["python", "-m", "pytest"] in newest
