"""Rendering a plan: one plain data view (:func:`view`), one jinja2 template per format.

Every renderer writes to a file handle, so the CLI passes stdout and tests pass StringIO.
``json`` is the saved-plan format itself (``reconciler.planio``); ``text``, ``markdown``
and ``html`` are templates under ``reconciler/templates``.
"""

from __future__ import annotations

import json
from typing import IO

from reconciler.escape import md, walk_strings
from reconciler.plan import Plan
from reconciler.render.drift import drift_view, has_drift
from reconciler.render.env import environment, paint, render_template
from reconciler.render.markdown import fit_drift, render_markdown
from reconciler.render.stream import STREAMED, using_line, write_plan
from reconciler.render.view import RICH_ARROW, view

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
    """Write ``plan`` to ``fh`` in ``fmt`` (one of :data:`FORMATS`).

    ``base_now``: the commit the plan's base ref names now (see :func:`view`).
    """
    if fmt in STREAMED:
        write_plan(plan, fmt, fh, color=color, mask_emails=mask_emails)
        return
    if fmt == "runbook":
        from reconciler.portal.runbook import render_plan

        render_plan(plan, "markdown", fh, mask_emails=mask_emails)
        return
    data = view(plan, mask_emails=mask_emails, base_now=base_now, arrow=RICH_ARROW)
    if fmt == "markdown":
        render_markdown(walk_strings(data, md), fh)
    else:
        raise ValueError(f"unknown format {fmt!r}")


DRIFT_FORMATS = ("text", "markdown", "json")


def render_drift(
    plan: Plan, fmt: str, fh: IO[str], *, color: bool = False, mask_emails: bool = False
) -> bool:
    """Write the drift that ``plan`` reveals to ``fh``; True when there is any."""
    data = drift_view(plan, mask_emails=mask_emails)
    if fmt == "json":
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    elif fmt == "text":
        render_template("drift_text.j2", fh, drift=data, paint=paint(color))
    elif fmt == "markdown":
        fh.write(fit_drift(walk_strings(data, md)))
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return has_drift(data)
