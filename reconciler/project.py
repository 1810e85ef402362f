"""Where the project is: the ``reconciler.yaml`` found by walking up from the current
directory to the repository root (as git and Terraform find theirs), and the account files
beside it, so that ``reconciler plan`` works from any subdirectory of an account repository.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path

from reconciler.errors import InputError

CONFIG_NAME = "reconciler.yaml"
ACCOUNTS = "accounts"

#: the directory of the configuration in use (the one found, or the one --config names);
#: None when there is none, and PATHS then default to ./accounts
_ROOT: ContextVar[Path | None] = ContextVar("reconciler_project_root", default=None)


def _repository_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def find_config(start: Path | None = None) -> Path | None:
    """The nearest ``reconciler.yaml`` from ``start`` (the current directory) up to the
    root of the git repository holding it; outside a repository, only ``start`` itself."""
    here = (start or Path.cwd()).resolve()
    top = _repository_root(here)
    folders = [here] if top is None else [here, *here.parents[: len(here.parents)
                                                          - len(top.parents)]]
    for folder in folders:
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    return None


def config_path(given: str | None) -> str:
    """The configuration file to use: ``given`` (``--config``), else the one found, else
    the default name (which need not exist). Remembers its directory for :func:`default_paths`."""
    if given is not None:
        _ROOT.set(Path(os.path.dirname(given) or "."))
        return given
    found = find_config()
    if found is None:
        _ROOT.set(None)
        return CONFIG_NAME
    shown = os.path.relpath(found)
    _ROOT.set(Path(os.path.dirname(shown) or "."))
    return shown


def default_paths() -> list[str]:
    """PATHS when none are given: ``accounts/`` beside the configuration in use, else
    ``./accounts``. Outside a project (neither) a one-line error says so, instead of
    planning against a demo sandbox made on the spot."""
    root = _ROOT.get()
    if root is not None:
        return [os.path.normpath(root / ACCOUNTS)]
    if Path(ACCOUNTS).is_dir():
        return [ACCOUNTS]
    raise InputError(
        f"no reconciler project here: no {CONFIG_NAME} in {Path.cwd()} or above it (up to the "
        f"repository root) and no {ACCOUNTS}/ directory; run it in your account repository, "
        "or pass -C DIR, --config FILE or the account files")
