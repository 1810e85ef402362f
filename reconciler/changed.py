"""Which accounts a git change touches: CI's answer to "what do I plan / apply?".

The comparison is from the merge base of REF and HEAD to the **working tree** (tracked
changes, committed or not, plus untracked files that git does not ignore). In CI the work
tree is a clean checkout, so this is exactly ``git diff REF...HEAD``; on a laptop it also
counts the edits not committed yet, which is what "what would my pull request plan?" means.

A change to a file every account depends on (the configuration or the price book) touches
every account. A deleted account file is reported (its slug read from the file at the base)
but is never planned: removing a file stops managing the account and changes nothing on its
platform. A file that does not parse is still reported, named by its path, so the plan that
follows fails loudly on it instead of skipping it.
"""

from __future__ import annotations

import heapq
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from reconciler.errors import InputError, ReconcilerError, ValidationFailed
from reconciler.filenames import file_name_error, outside_repository_error

#: What GitHub sends as ``github.event.before`` for the first push of a branch: there is
#: no earlier commit, so every account counts as added.
NULL_SHA = "0" * 40
ACCOUNT_SUFFIXES = (".yaml", ".yml")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")  # as schemas/account.schema.json


class GitError(ReconcilerError):
    """git is missing, the directory is not a repository, or a ref is unknown."""


@dataclass(frozen=True)
class ChangedAccount:
    #: the account's slug; the file's path when the file does not parse (plan then fails on it)
    account: str
    #: the account file, relative to the current directory (as the other commands take it)
    file: str
    #: why it is listed: "added", "modified", "renamed from X", "deleted", "pricebook.yaml changed"
    reason: str
    deleted: bool = False


def changed_accounts(
    base: str,
    paths: Sequence[str] = ("accounts",),
    *,
    shared_files: Sequence[str] = (),
) -> list[ChangedAccount]:
    """The accounts whose files under ``paths`` changed since ``base`` (see the module doc).

    ``shared_files`` (the configuration, the price book) touch every account when changed.
    Paths are relative to the current directory, as for every command. Sorted by file.
    Raises :class:`GitError` for an unknown ``base`` or outside a repository.
    """
    here = Path.cwd().resolve()
    top = Path(_git(["rev-parse", "--show-toplevel"], here).strip())
    roots = [_absolute(here, p) for p in paths]
    if base == NULL_SHA:
        return all_accounts(paths, reason="added (no earlier commit)")
    since = _merge_base(_resolve(base, top), top)

    shared = {_absolute(here, f): f for f in shared_files}
    touched: dict[Path, str] = {}  # account file -> "A" | "M" | "D"
    shared_reasons: list[str] = []
    for status, rel in _diff(since, top):
        path = top / rel
        if path in shared:
            shared_reasons.append(f"{shared[path]} changed")
        elif _is_account_file(path, roots):
            touched[path] = status

    # a deleted file is never planned nor applied, so its name reaches no command line:
    # deleting or renaming a file with a refused name is how one follows "rename it"
    refused = [e for p in sorted(touched) if touched[p] != "D" for e in (
        file_name_error(p.relative_to(top).as_posix(), _relative(p, here)),
        outside_repository_error(p, _relative(p, here)),
    ) if e is not None]
    if refused:  # such a name must never reach a CI matrix or a command line
        raise ValidationFailed(refused)
    found: dict[Path, ChangedAccount] = {}
    for path, status in touched.items():
        shown = _relative(path, here)
        if status == "D":
            if file_name_error(path.relative_to(top).as_posix(), shown) is not None:
                shown = quote(shown, safe="/._-")  # shown only: no blank, nothing a shell reads
            old = _run(["show", f"{since}:{path.relative_to(top).as_posix()}"], top)
            found[path] = ChangedAccount(_slug(old, shown), shown, "deleted", deleted=True)
        else:
            reason = "added" if status == "A" else "modified"
            found[path] = ChangedAccount(_slug(_read(path), shown), shown, reason)
    if shared_reasons:
        for c in all_accounts(paths, reason="; ".join(sorted(set(shared_reasons)))):
            found.setdefault(_absolute(here, c.file), c)
    return sorted(_pair_renames(found.values()), key=lambda c: (c.file, c.account))


def all_accounts(
    paths: Sequence[str] = ("accounts",), *, reason: str = "all accounts"
) -> list[ChangedAccount]:
    """Every account file under ``paths`` (no git needed): the list a job over all
    accounts (drift) runs on."""
    from reconciler.accounts import discover  # (the loader only when files are read)

    here = Path.cwd().resolve()
    shown = [_relative(_absolute(here, f), here) for f in discover(paths)]
    return [ChangedAccount(_slug(_read(Path(f)), f), f, reason) for f in shown]


def matrix(changes: Iterable[ChangedAccount]) -> dict[str, list[dict[str, str]]]:
    """A GitHub Actions matrix (``strategy.matrix: ${{ fromJSON(...) }}``) of the accounts
    to plan or apply: deleted files are left out, there is nothing to apply for them."""
    return {
        "include": [{"account": c.account, "file": c.file} for c in changes if not c.deleted]
    }


#: GitHub Actions refuses a matrix of more jobs than this
GITHUB_MAX_JOBS = 256


def shards(
    changes: Iterable[ChangedAccount], max_jobs: int, users: Callable[[str], int]
) -> dict[str, list[dict[str, Any]]]:
    """A matrix of at most ``max_jobs`` jobs, each naming several account files, balanced
    by their number of users (``users(file)``): the fleet of a price-book change fits
    GitHub's limit of 256 jobs. Greedy longest-first (each account, largest first, goes to
    the lightest job so far): within 4/3 of the best balance, deterministic. An account
    weighs its users plus one, since reading an account costs something even with none."""
    live = [c for c in changes if not c.deleted]
    counted = {c.file: users(c.file) for c in live}  # once each: a file is parsed to count
    weighted = sorted(((counted[c.file] + 1, c) for c in live), key=lambda w: (-w[0], w[1].file))
    count = min(max_jobs, len(weighted))
    jobs: list[tuple[int, int, list[ChangedAccount]]] = [(0, i, []) for i in range(count)]
    heapq.heapify(jobs)
    for weight, change in weighted:
        total, i, members = heapq.heappop(jobs)
        members.append(change)
        heapq.heappush(jobs, (total + weight, i, members))
    groups = sorted((sorted(m, key=lambda c: c.file) for _, _, m in jobs), key=lambda m: m[0].file)
    include = []
    for n, members in enumerate(groups, 1):
        names = [c.account for c in members]
        include.append({
            "job": n,
            "name": f"{n}/{len(groups)} " + (
                names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1}"
            ),
            "accounts": " ".join(names),
            # newline-separated, as the composite action's `paths` input takes them
            "files": "\n".join(c.file for c in members),
            "users": sum(counted[c.file] for c in members),
        })
    return {"include": include}


def count_users(file: str) -> int:
    """The number of users an account file lists (0 for a file that does not parse: the
    plan that follows reports it). The C loader without marks: fast over thousands."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(file, "rb") as f:
            doc = yaml.load(f, Loader=loader)  # noqa: S506 - a safe loader
    except (OSError, yaml.YAMLError):
        return 0
    found = doc.get("users") if isinstance(doc, dict) else None
    return len(found) if isinstance(found, list) else 0


# --------------------------------------------------------------------------- git


def _run(args: list[str], cwd: Path) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except FileNotFoundError:
        raise GitError("git is not installed (reconciler changed compares git revisions)") \
            from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        if message and "not a git repository" in message[0]:
            raise GitError(f"not a git repository: {cwd}")
        raise GitError(f"git {args[0]} failed: {message[0] if message else proc.returncode}")
    return proc.stdout


def _git(args: list[str], cwd: Path) -> str:
    return _run(args, cwd).decode("utf-8", "surrogateescape")


def _resolve(ref: str, top: Path) -> str:
    if ref.startswith("-"):  # never let a ref be read as an option
        raise GitError(f"unknown git ref {ref!r}")
    try:
        return _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top).strip()
    except GitError:
        raise GitError(
            f"unknown git ref {ref!r} (in CI, fetch the history: actions/checkout with "
            "fetch-depth: 0)"
        ) from None


def resolve_ref(ref: str, where: Path | str = ".") -> str:
    """The commit ``ref`` names now in the repository holding ``where``; GitError if none."""
    top = Path(_git(["rev-parse", "--show-toplevel"], Path(where)).strip())
    return _resolve(ref, top)


def _merge_base(commit: str, top: Path) -> str:
    # REF...HEAD semantics: what this branch changed, not what landed on REF meanwhile.
    # No common ancestor (unrelated or grafted history): compare with REF itself.
    try:
        return _git(["merge-base", commit, "HEAD"], top).strip() or commit
    except GitError:
        return commit


def _diff(since: str, top: Path) -> list[tuple[str, str]]:
    """(status, path from the top) of every file differing between ``since`` and the work
    tree: A added, M modified (and type changes), D deleted. Renames are two entries
    (D + A); :func:`_pair_renames` puts them back together by slug."""
    out = _git(["diff", "--name-status", "--no-renames", "--no-ext-diff", "-z",
                    since, "--"], top)
    fields = out.split("\0")
    changes = [(fields[i][:1], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], top)
    changes += [("A", name) for name in untracked.split("\0") if name]
    return [("M" if s not in ("A", "D") else s, p) for s, p in changes]


# --------------------------------------------------------------------------- files


def _absolute(here: Path, path: str | os.PathLike[str]) -> Path:
    # resolve the parent only: a deleted file has no target to follow
    p = here / path
    return p.parent.resolve() / p.name if p.name not in ("", ".", "..") else p.resolve()


def _relative(path: Path, here: Path) -> str:
    return PurePath(os.path.relpath(path, here)).as_posix()


def _is_account_file(path: Path, roots: Sequence[Path]) -> bool:
    """As :func:`reconciler.accounts.discover` finds them: a .yaml/.yml file named as a
    path, or directly inside a directory named as a path (not in its subdirectories)."""
    if not path.name.lower().endswith(ACCOUNT_SUFFIXES):
        return False
    return any(path == root or path.parent == root for root in roots)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""  # unreadable: named by its path below, the plan reports why


def _slug(content: str | bytes, shown: str) -> str:
    """The file's ``account:`` key; its path when it has none or does not parse."""
    # imported here: ``show`` resolves a plan's base ref (resolve_ref) and reads no file
    from reconciler.yamlload import loads_yaml

    try:
        data = loads_yaml(content, shown)
    except InputError:
        return shown
    slug = data.get("account")
    # only a slug the schema allows: it names CI jobs and concurrency groups
    return slug if isinstance(slug, str) and _SLUG.fullmatch(slug) else shown


def _pair_renames(changes: Iterable[ChangedAccount]) -> list[ChangedAccount]:
    """A deleted file whose slug reappears in an added file is a rename of that account."""
    items = list(changes)
    deleted = {c.account: c for c in items if c.deleted and c.account != c.file}
    out: list[ChangedAccount] = []
    renamed: set[str] = set()
    for c in items:
        old = deleted.get(c.account)
        if not c.deleted and c.reason == "added" and old is not None:
            out.append(replace(c, reason=f"renamed from {old.file}"))
            renamed.add(c.account)
        else:
            out.append(c)
    return [c for c in out if not (c.deleted and c.account in renamed)]
