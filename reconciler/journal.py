"""The journal's records: one write apply sent to a platform and its outcome
(:class:`JournalEntry`), and a write recorded before it was sent whose line is missing
(:class:`Intent`).

The state store keeps entries append-only (:meth:`reconciler.state.StateStore.record`);
``reconciler history`` prints them. Defined apart from the store so that what reads them
does not load the lease machinery.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class JournalEntry:
    time: str
    account: str
    step_id: str
    action: str
    target: str
    #: done | pending | failed | failed-transient | skipped | waiting | manual
    result: str
    error: str = ""
    detail: str = ""
    idempotency_key: str = ""
    git_commit: str | None = None
    actor: str = ""
    run_id: str = ""
    #: the digest of the saved plan applied ("" for a plan apply made itself)
    plan: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Intent:
    """A write recorded before it was sent (docs/steps.md, idempotency keys) whose journal
    line was never written: the run stopped between the write and its journal line."""

    key: str
    #: the step's digest (``reconciler.steps.step_digest``)
    step: str
    #: the platform answered (False: the answer was lost)
    settled: bool
    #: what the journal line would have said (account, step, run, actor, commit, plan)
    about: JournalEntry
