"""Who runs an apply and from which commit: stamped on every journal entry."""

from __future__ import annotations

import getpass
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from reconciler.envvars import env_value


@dataclass(frozen=True)
class RunInfo:
    """Who runs this apply; stamped on every journal entry with the files' git commit."""

    run_id: str
    actor: str

    @classmethod
    def new(cls) -> RunInfo:
        return cls(run_id=uuid.uuid4().hex[:12], actor=current_actor())


def current_actor() -> str:
    """The GitHub user in Actions, else the OS user."""
    actor = env_value("GITHUB_ACTOR")
    if actor is not None:
        return actor.reveal()  # who ran it, recorded and shown by design (history)
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


def git_commit(path: Path | str) -> str | None:
    """``git rev-parse HEAD`` of the repository holding ``path``; None outside git."""
    p = Path(path)
    where = p if p.is_dir() else p.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


def _git(where: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            ["git", "-C", str(where), *args],
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None


def file_commit(path: Path | str) -> str | None:
    """The commit that last changed the file ``path`` (``git log -1`` on it), or
    ``uncommitted`` when the file in the working tree differs from that commit (edited,
    or never committed); None outside git. History stamps this on every write."""
    p = Path(path).resolve()
    where = p.parent
    if git_commit(where) is None:
        return None
    log = _git(where, "log", "-1", "--format=%H", "--", p.name)
    commit = log.stdout.strip() if log is not None and log.returncode == 0 else ""
    if not commit:
        return UNCOMMITTED  # not in any commit yet
    diff = _git(where, "diff", "--quiet", "HEAD", "--", p.name)
    if diff is None or diff.returncode != 0:
        return UNCOMMITTED  # differs from HEAD (1), or git could not tell
    return commit


#: the git commit history shows for a file that differs from its last commit
UNCOMMITTED = "uncommitted"


def ci_run_url() -> str:
    """This GitHub Actions run's URL (stamped on the leases it holds), else ""."""
    # GitHub's own run coordinates, shown by design (a lease names the run holding it)
    server, repo, run = (v.reveal() if v is not None else "" for v in (
        env_value("GITHUB_SERVER_URL"), env_value("GITHUB_REPOSITORY"),
        env_value("GITHUB_RUN_ID")))
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else ""
