"""Run GitHub Actions workflow steps locally, as a runner on Linux would: each step's script
under the shell GitHub picks for it (see ``Script.argv``), with GITHUB_OUTPUT /
GITHUB_STEP_SUMMARY files and stub commands on PATH. Shared by test_workflows.py and
test_e2e_gitops.py."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTION = ROOT / "action.yml"


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    if True in data:  # YAML 1.1 reads the key `on` as True
        data["on"] = data.pop(True)
    return data


def step(doc: dict[str, Any], job: str, name: str) -> dict[str, Any]:
    for s in doc["jobs"][job]["steps"]:
        if s.get("name") == name:
            return s
    raise AssertionError(f"no step {name!r} in job {job!r}")


# GitHub's commands for a `run` step on Linux, by `shell:` (workflow syntax,
# jobs.<job_id>.steps[*].shell). No shell at all is NOT the same as `shell: bash`: it runs
# without pipefail, so `a | tee f` and `x=$(a | b)` hide a's failure.
SHELLS = {
    None: "bash -e {0}",
    "bash": "bash --noprofile --norc -eo pipefail {0}",
    "sh": "sh -e {0}",
    "python": "python {0}",
}


@dataclass(frozen=True)
class Script:
    """A step's script and the ``shell:`` GitHub runs it with (None: none given anywhere)."""

    run: str
    shell: str | None

    def argv(self, path: Path) -> list[str]:
        template = SHELLS.get(self.shell, self.shell)
        assert template is not None and "{0}" in template, f"unknown shell {self.shell!r}"
        return [str(path) if word == "{0}" else word for word in shlex.split(template)]


def workflow_script(doc: dict[str, Any], job: str, name: str) -> Script:
    """A workflow step's script with its shell as GitHub resolves it: the step's ``shell``,
    else the job's ``defaults.run.shell``, else the workflow's, else none."""
    s = step(doc, job, name)
    assert "run" in s, f"step {name!r} runs no script"
    shell = s.get("shell") or _default_shell(doc["jobs"][job]) or _default_shell(doc)
    return Script(str(s["run"]), shell)


def _default_shell(scope: dict[str, Any]) -> str | None:
    shell = ((scope.get("defaults") or {}).get("run") or {}).get("shell")
    return str(shell) if shell else None


def action_script() -> Script:
    """The composite action's one scripted step (the one that runs reconciler). A composite
    action has no ``defaults``; each of its run steps must name its shell."""
    steps = load(ACTION)["runs"]["steps"]
    s = next(s for s in steps if s.get("id") == "run")
    assert s.get("shell"), "a composite action's run step must name its shell"
    return Script(str(s["run"]), str(s["shell"]))


def adhoc(commands: str) -> Script:
    """A test's own commands between steps (not a workflow step), as a `shell: bash` step."""
    return Script(commands, "bash")


def action_env(**inputs: str) -> dict[str, str]:
    """The action step's environment for these inputs (names as in its ``env:``)."""
    defaults = {"COMMAND": "", "PATHS": "", "ACCOUNT": "", "FORMAT": "", "EXTRA_ARGS": "",
                "OUTPUT": "", "SUMMARY": "false", "FAIL": "true"}
    return {**defaults, **inputs}


def action_env_for(uses_step: dict[str, Any], **expressions: str) -> dict[str, str]:
    """The action's environment for a workflow step's ``with:``; ``expressions`` give the
    values of inputs written as ``${{ ... }}`` (by env name: PATHS=...)."""
    given = {name.upper().replace("-", "_"): str(value)
             for name, value in uses_step.get("with", {}).items()}
    unresolved = sorted(k for k, v in given.items() if "${{" in v and k not in expressions)
    assert not unresolved, f"give a value for {unresolved}"
    return action_env(**{**given, **expressions})


STUB = """#!{python}
import json, os, sys
log = os.environ["STUB_LOG"]
with open(log, "a") as fh:
    fh.write(json.dumps([os.path.basename(sys.argv[0]), *sys.argv[1:]]) + "\\n")
spec = json.load(open(os.environ["STUB_SPEC"]))
for key in (" ".join(sys.argv[1:]), " ".join(sys.argv[1:3]),
            sys.argv[1] if len(sys.argv) > 1 else ""):
    if key in spec.get(os.path.basename(sys.argv[0]), {{}}):
        out, err, code = spec[os.path.basename(sys.argv[0])][key]
        sys.stdout.write(out)
        sys.stderr.write(err)
        sys.exit(code)
"""


class Runner:
    """Runs a step's script as a GitHub runner does (its ``Script.argv``), with stub
    commands on PATH answering from ``spec``: {command: {"all args", "arg1 arg2" or
    "arg1" (the first that matches): [stdout, stderr, exit]}}."""

    def __init__(self, tmp_path: Path, *, real_reconciler: bool = False,
                 workdir: Path | None = None) -> None:
        self.dir = tmp_path
        self.workdir = workdir or tmp_path
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.log = tmp_path / "calls.jsonl"
        self.output = tmp_path / "github_output"
        self.summary = tmp_path / "step_summary"
        self.spec: dict[str, dict[str, list[Any]]] = {}
        for name in ("reconciler", "gh"):
            stub = self.bin / name
            if name == "reconciler" and real_reconciler:
                # this interpreter's reconciler, whatever PATH holds
                stub.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m reconciler "$@"\n')
            else:
                stub.write_text(STUB.format(python=sys.executable))
            stub.chmod(0o755)

    def run(self, script: Script, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        (self.dir / "spec.json").write_text(json.dumps(self.spec))
        (self.dir / "step.sh").write_text(script.run)
        self.output.write_text("")  # each step has its own outputs
        full = {**os.environ, "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
                "STUB_LOG": str(self.log), "STUB_SPEC": str(self.dir / "spec.json"),
                "GITHUB_OUTPUT": str(self.output), "GITHUB_STEP_SUMMARY": str(self.summary),
                "RUNNER_TEMP": str(self.dir / "runner-temp"), **env}
        return subprocess.run(script.argv(self.dir / "step.sh"), cwd=self.workdir, env=full,
                              capture_output=True, text=True, check=False)

    def calls(self, command: str) -> list[list[str]]:
        if not self.log.exists():
            return []
        rows = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [row[1:] for row in rows if row[0] == command]

    def outputs(self) -> dict[str, str]:
        """The step's outputs as GitHub reads GITHUB_OUTPUT: ``name=value`` lines, and
        multi-line values written as ``name<<DELIMITER`` ... ``DELIMITER``."""
        found: dict[str, str] = {}
        lines = iter(self.output.read_text().splitlines())
        for line in lines:
            if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
                name, delimiter = line.split("<<", 1)
                value: list[str] = []
                for more in lines:
                    if more == delimiter:
                        break
                    value.append(more)
                else:
                    raise AssertionError(f"output {name!r}: no closing {delimiter!r}")
                found[name] = "\n".join(value)
            else:
                name, text = line.split("=", 1)
                found[name] = text
        return found




def git(repo: Path, *args: str) -> str:
    """``git ARGS`` in ``repo``; its stdout, stripped."""
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


def demo_repo(tmp_path: Path, monkeypatch: Any, accounts: tuple[str, ...] = (),
              ignore: str = ".reconciler/\nplans/\n") -> tuple[Path, str]:
    """A git repository ``tmp_path/repo`` holding the demo account files (``accounts``:
    their stems, default all), a reconciler.yaml keeping the sandbox and the state store
    inside it (never in ours) and a .gitignore, committed on ``main`` without the user's
    or the system's git configuration; the platform environment variables cleared.
    Returns the repository and the commit."""
    import shutil

    for var, value in {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
                       "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}.items():
        monkeypatch.setenv(var, value)
    for var in ("RECONCILER_SANDBOX_FAULTS", "RECONCILER_MITEL_ROLE", "RECONCILER_STATE_URL"):
        monkeypatch.delenv(var, raising=False)
    root = tmp_path / "repo"
    (root / "accounts").mkdir(parents=True)
    for source in sorted((ROOT / "accounts").glob("*.yaml")):
        if not accounts or source.stem in accounts:
            shutil.copy(source, root / "accounts")
    (root / "reconciler.yaml").write_text(
        "sandbox:\n  path: .reconciler/sandbox.db\nstate:\n  path: .reconciler/state.db\n")
    (root / ".gitignore").write_text(ignore)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "demo accounts")
    return root, git(root, "rev-parse", "HEAD")
