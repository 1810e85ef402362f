"""Leases: which run holds a platform account, and the facts about that holder.

A lease names the platform account (:class:`Scope`) and its holder (:class:`LockInfo`:
owner, host, pid, CI run URL, commit, acquired, expires, heartbeat). The rules for taking,
renewing, reclaiming and breaking leases are :class:`reconciler.state.StateStore`'s, once for
every store; this module holds the records they move around, so a command that only shows
or breaks a lock (``reconciler unlock``) and the stores can share them without the rules.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.envvars import env_value
from reconciler.errors import ReconcilerError
from reconciler.hostid import same_host

#: how long a lease lasts without a heartbeat (assumed: long enough for a stalled runner
#: to recover, short enough that a dead runner's accounts come free within a minute)
LEASE_SECONDS = 60.0
#: how often a lease is renewed while apply runs (three renewals per lease)
HEARTBEAT_FRACTION = 1 / 3
#: how often a waiting apply (``--lock-timeout``) asks again
POLL_SECONDS = 0.5


class NotLocked(ReconcilerError):
    """``reconciler unlock`` on an account nobody holds."""


class LockLost(ReconcilerError):
    """A lease this run held expired and was reclaimed by another run."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """``2026-11-22T10:01:02Z``: second precision, always UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, order=True)
class Scope:
    """The platform account that locks and idempotency keys belong to."""

    platform: str
    external_id: str

    def __str__(self) -> str:
        return f"{self.platform} {self.external_id}"


@dataclass(frozen=True)
class LockInfo:
    """A lease on one platform account."""

    scope: Scope
    #: the slug of the file the holder applies (for messages and ``unlock SLUG``)
    account: str
    owner: str
    pid: int
    host: str
    #: when the lease was acquired
    since: str
    #: proves ownership on release and renewal, so a run never frees a lock someone
    #: else took over
    token: str
    #: the CI run holding it (GitHub Actions run URL), if any
    run_url: str = ""
    git_commit: str = ""
    #: when the lease ends unless renewed
    expires: str = ""
    heartbeat: str = ""

    def message(self) -> str:
        text = (
            f"account {self.account} ({self.scope}) is locked by {self.owner} pid {self.pid} "
            f"on host {self.host} since {self.since}"
        )
        if self.run_url:
            text += f" (run {self.run_url})"
        return text + f"; if that run is dead, run: reconciler unlock {self.account}"


def is_alive_local(lock: LockInfo) -> bool:
    """True when the holder is a process on this host that still exists."""
    if lock.host != socket.gethostname() or not same_host(lock.token):
        return False
    try:
        os.kill(lock.pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, another user's
        return True
    return True


def is_dead_local(lock: LockInfo) -> bool:
    if lock.host != socket.gethostname() or lock.pid == os.getpid():
        return False
    if not same_host(lock.token):  # same name, another machine or container (hostid.py)
        return False
    try:
        os.kill(lock.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: alive, owned by another user
        return False
    return False


def github_sha() -> str:
    """The commit a GitHub Actions run is for (recorded with a lease), else ""."""
    sha = env_value("GITHUB_SHA")
    return sha.reveal() if sha is not None else ""
