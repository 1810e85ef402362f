"""Rendering a plan: one plain data view (:func:`view`), one jinja2 template per format.

Every renderer writes to a file handle, so the CLI passes stdout and tests pass StringIO.
``json`` is the saved-plan format itself (``reconciler.planio``); ``text``, ``markdown``
and ``html`` are templates under ``reconciler/templates``.
"""

from __future__ import annotations

from typing import IO

from reconciler.plan import Plan
from reconciler.render.drift import DRIFT_FORMATS, DriftWriter
from reconciler.render.env import environment, paint, render_template
from reconciler.render.stream import STREAMED, using_line, write_plan
from reconciler.render.view import view

#: runbook: the steps as a person does them in the portal, markdown (reconciler.portal)
FORMATS = ("text", "markdown", "json", "html", "runbook")

__all__ = [
    "DRIFT_FORMATS",
    "FORMATS",
    "environment",
    "paint",
    "render",
    "render_drift",
    "render_template",
    "using_line",
    "view",
]

def render(
    plan: Plan, fmt: str, fh: IO[str], *, color: bool = False, mask_emails: bool = False,
    base_now: str | None = None,
) -> None:
    """Write ``plan`` to ``fh`` in ``fmt`` (one of :data:`FORMATS`): through the writer
    that ``plan`` uses account by account (render.stream), or the runbook.

    ``base_now``: the commit the plan's base ref names now (see :func:`view`).
    """
    if fmt in STREAMED:
        write_plan(plan, fmt, fh, color=color, mask_emails=mask_emails, base_now=base_now)
    elif fmt == "runbook":
        from reconciler.portal.runbook import render_plan

        render_plan(plan, "markdown", fh, mask_emails=mask_emails)
    else:
        raise ValueError(f"unknown format {fmt!r}")


def render_drift(
    plan: Plan, fmt: str, fh: IO[str], *, color: bool = False, mask_emails: bool = False
) -> bool:
    """Write the drift that ``plan`` reveals to ``fh`` (through the writer ``drift`` uses
    account by account); True when there is any."""
    drift = DriftWriter(fmt, color=color, mask_emails=mask_emails)
    for acct in plan.accounts:
        drift.add(acct)
    drift.finish(plan, fh)
    return drift.drifted
