"""``apply --format json``: the apply report as one JSON document (schemas/apply.schema.json)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.progress import AccountReport, ApplyReport, StepResult


def _step(result: StepResult) -> dict[str, Any]:
    step = result.step
    return {
        "id": step.id,
        "action": step.action,
        "label": step.label or "",
        "target": step.target,
        "mode": step.mode,
        "status": result.status,
        "message": result.message,
        "waited_on": result.waited_on,
        "order_id": result.order_id,
        "idempotency_key": result.idempotency_key,
    }


def account_json(report: AccountReport) -> dict[str, Any]:
    return {
        "account": report.account,
        "platform": report.platform,
        "state": report.state,
        "exit_code": int(report.exit_code),
        "steps": [_step(r) for r in report.results],
        "remaining": report.remaining,
        "error": report.error,
        "note": report.note,
    }


def apply_json(
    report: ApplyReport | None, runbooks: Sequence[tuple[str, Sequence[str]]], exit_code: int
) -> dict[str, Any]:
    """The report apply prints at its end, as data: per account its state and every step's
    outcome, the runbooks written for portal accounts, and the run's exit code."""
    accounts = [account_json(a) for a in report.accounts] if report is not None else []
    return {
        "format_version": 1,
        "exit_code": exit_code,
        "accounts": accounts,
        "summary": {
            status: sum(1 for a in accounts for s in a["steps"] if s["status"] == status)
            for status in ("done", "pending", "waiting", "manual", "failed",
                           "failed-transient", "skipped")
        },
        "runbooks": [{"account": account, "paths": list(paths)} for account, paths in runbooks],
    }
