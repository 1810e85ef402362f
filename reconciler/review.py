"""What you review is what is applied.

A saved plan records the desired state it was made from (:func:`sources`: digests of the
account file, reconciler.yaml and the price book, and the git commit) and the options it was
made with. Apply never takes its steps, costs or verdicts on trust: it checks that the files
are still those (:func:`changed_sources`), makes the plan again from them and the live state
under the account's lock, and runs it only if it is the same plan (:func:`difference` is
empty): the same steps, the same money, the same verdicts. Otherwise it refuses with the
difference and writes nothing.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from reconciler.config import Config
from reconciler.errors import ReconcilerError, StalePlan
from reconciler.journal import JournalEntry
from reconciler.model import DesiredAccount
from reconciler.plan import AccountPlan


class PlanMismatch(StalePlan):
    """A saved (or shown) plan that is not the plan made now. ``difference``: ``-`` lines
    of the saved plan, ``+`` lines of the plan made now; printed before the error line."""

    def __init__(self, message: str, difference: list[str]) -> None:
        self.difference = difference
        if difference:
            self.lines = (*(f"  {line}" for line in difference), f"error: {message}")
        super().__init__(message)


def file_digest(path: Path | str | None) -> str | None:
    """sha256 of a file's bytes (None: no such file)."""
    if path is None:
        return None
    try:
        return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def sources(path: str, config: Config, shared: Mapping[str, str | None] | None = None,
            digest: str | None = None) -> dict[str, str | None]:
    """The desired state an account's plan is made from (a saved plan's ``source``).
    ``shared``: :func:`shared_sources` of ``config``, read once for a run of many accounts
    (the config and the price book a run loaded at its start). ``digest``: the file's, of
    the bytes the plan was made from (None: the file is read for it)."""
    return {
        "file": digest if digest is not None else file_digest(path),
        **(shared if shared is not None else shared_sources(config)),
        "commit": _folder_commit(os.path.abspath(os.path.dirname(path))) if path else None,
    }


def shared_sources(config: Config) -> dict[str, str | None]:
    """The part of :func:`sources` every account of a run shares: the digests of
    reconciler.yaml and the price book."""
    from reconciler.pricebook import pricebook_path

    return {
        "config": file_digest(config.source) if config.source else None,
        "pricebook": file_digest(pricebook_path(config)),
    }


@lru_cache(maxsize=64)
def _folder_commit(folder: str) -> str | None:
    """The commit of the folder (absolute, as written): resolved once per folder."""
    return _commit(str(Path(folder).resolve()))


@lru_cache(maxsize=64)
def _commit(folder: str) -> str | None:
    from reconciler.runinfo import git_commit

    return git_commit(folder)


def changed_sources(saved: AccountPlan, config: Config) -> list[str]:
    """The files that differ from those the saved account plan was made from."""
    if saved.source is None:
        return [f"the plan does not say which files account {saved.account} was made from"]
    now = sources(saved.path, config)
    names = {"file": saved.path or "the account file",
             "config": config.source or "reconciler.yaml", "pricebook": "the price book"}
    return [
        f"{names[key]} changed since the plan was made"
        if now[key] and saved.source.get(key) else
        f"{names[key]} {'is new' if now[key] else 'is gone'} since the plan was made"
        for key in ("file", "config", "pricebook")
        if now[key] != saved.source.get(key)
    ]


def check_sources(saved: AccountPlan, config: Config) -> None:
    """Refuse (nothing written) when the desired state is no longer the plan's."""
    changed = changed_sources(saved, config)
    if changed:
        raise PlanMismatch(
            f"plan is stale: {'; '.join(changed)} (account {saved.account}); nothing "
            "applied; make the plan again and review it",
            [],
        )


def check_identity(saved: AccountPlan, desired: DesiredAccount | None) -> None:
    """Refuse a saved account plan whose slug, platform or external id is not that of
    the account file it names (an edited plan): it is planned again from that file, under
    the lock of the platform account it names, so the three must be one account."""
    if desired is not None and (desired.platform, desired.external_id) == (
            saved.platform, saved.external_id):
        return
    found = (f"{saved.path} holds no account {saved.account}" if desired is None else
             f"account {saved.account} is {desired.platform} {desired.external_id} in "
             f"{desired.path}")
    raise PlanMismatch(
        f"plan does not match its files: it names account {saved.account} on "
        f"{saved.platform} {saved.external_id}, but {found}; the plan file was edited; "
        "nothing applied; make the plan again and review it",
        [],
    )


def difference(saved: AccountPlan, fresh: AccountPlan) -> list[str]:
    """How the plan made now differs from the saved one: ``-`` lines only in the saved
    plan, ``+`` lines only in the plan made now; empty when they are the same plan."""
    old, new = _lines(saved), _lines(fresh)
    if old == new:
        return []
    return [line for line in difflib.ndiff(old, new) if line[:1] in "+-"]


def _lines(plan: AccountPlan) -> list[str]:
    """What two plans of an account must share to be the same plan: the account, every
    step with all its fields, the cost and the verdicts. The fingerprint of the state read,
    account-wide warnings (a trial's days left) and the unmanaged list may differ: they are
    not what apply does or what it costs."""
    from reconciler.planio import account_to_json

    data = account_to_json(plan)
    out = [f"account {data['account']} ({data['platform']} {data['external_id']})"]
    for step in data["steps"]:
        head = f"{step['id']} {step['action']} {step.get('user', step.get('licence'))}"
        rest = {k: v for k, v in step.items()
                if k not in ("id", "action", "user", "licence") and v not in (None, [], {}, "")}
        out.append(f"step {head} {_compact(rest)}")
    out.append(f"cost {_compact(data['cost'])}")
    out.extend(f"verdict {_compact(v)}" for v in data["blocked"])
    return out


def _compact(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def mismatch(saved: AccountPlan, fresh: AccountPlan, *, stale: bool,
             applied: JournalEntry | None = None) -> ReconcilerError:
    """The refusal of a plan that is not the plan made now (``applied``: the journal says
    this very plan was applied in part already)."""
    if stale:
        message = (f"plan is stale: the platform changed since the plan was made (account "
                   f"{saved.account})")
    else:
        message = (f"plan does not match the plan made now from the same files and live "
                   f"state (account {saved.account}): the plan file was edited, or "
                   "reconciler's rules changed")
    if applied is not None:
        message += f" (this plan was applied in part by run {applied.run_id} at {applied.time})"
    return PlanMismatch(f"{message}; nothing applied; make the plan again and review it",
                        difference(saved, fresh))
