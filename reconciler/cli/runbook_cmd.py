"""``reconciler runbook status``: which runbook steps the portal's exports show done."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.cli.options import config_option, format_option
from reconciler.errors import ExitCode, InputError

MARK = {"done": "[x]", "not yet": "[ ]", "different": "[!]"}


@click.group("runbook")
def runbook_group() -> None:
    """Runbooks that apply writes for kind: portal accounts (docs/portal.md).

    \b
    Example:
      reconciler runbook status
    """


def _runbooks(paths: tuple[Path, ...], config_path: str) -> list[Path]:
    if paths:
        return list(paths)
    from reconciler.config import load_config
    from reconciler.platforms import PLATFORMS
    from reconciler.portal.provider import exports_dir

    config = load_config(config_path)
    roots = {exports_dir(p, config) for p in PLATFORMS
             if config.provider(p).kind == "portal"}
    found = sorted(f for root in roots if root.is_dir()
                   for f in root.glob("*/runbook.json"))
    if not found:
        raise InputError("no runbook found: give its path, or apply a plan of kind: portal "
                         "accounts first", file=config_path)
    return found


@runbook_group.command("status")
@click.argument("runbooks", nargs=-1, type=click.Path(path_type=Path), metavar="[RUNBOOK]...")
@config_option
@format_option("text", "json")
def status_command(runbooks: tuple[Path, ...], config_path: str, fmt: str) -> ExitCode:
    """Check each step of a runbook against the portal's latest exports: done, not yet,
    or different from what was asked.

    RUNBOOK is a runbook file (or the folder holding it); by default every runbook in the
    exports directories of reconciler.yaml. Exit 0 when every step is done, 2 otherwise.

    \b
    Examples:
      reconciler runbook status
      reconciler runbook status exports/C000000150/runbook.md
    """
    from reconciler.config import load_config
    from reconciler.portal.provider import PortalProvider
    from reconciler.portal.runbook import load
    from reconciler.portal.status import DONE, check
    from reconciler.pricebook import load_catalogs

    catalogs = load_catalogs(load_config(config_path))
    report = []
    for path in _runbooks(runbooks, config_path):
        plan = load(path)
        folder = path if path.is_dir() else path.parent
        provider = PortalProvider(plan.platform, folder.parent, catalogs[plan.platform])
        if folder.name != plan.external_id:
            raise InputError(f"the runbook is for account {plan.external_id}; keep it in the "
                             f"folder of that account's exports", file=str(path))
        report.append((plan, path, check(plan, provider.read_account(plan.external_id))))
    all_done = all(s.status == DONE for _, _, steps in report for s in steps)
    if fmt == "json":
        click.echo(json.dumps({"all_done": all_done, "runbooks": [
            {"account": plan.account, "runbook": str(path), "steps": [
                {"number": s.number, "id": s.step.id, "action": s.step.action,
                 "target": s.step.target, "status": s.status, "detail": s.detail}
                for s in steps]}
            for plan, path, steps in report]}, indent=2, ensure_ascii=False))
    else:
        for plan, path, steps in report:
            from reconciler.escape import terminal
            from reconciler.portal.runbook import build

            titles = {n: ins.title for n, _, ins in build(plan).steps}
            click.echo(f"{plan.account} ({path}):")
            for s in steps:
                detail = f": {s.detail}" if s.detail and s.status != DONE else ""
                click.echo(terminal(f"  {MARK[s.status]} {s.number}. {titles[s.number]}  "
                                    f"{s.status}{detail}"))
            counts = {k: sum(1 for s in steps if s.status == k) for k in MARK}
            click.echo(f"  {counts['done']} of {len(steps)} done, {counts['not yet']} not yet, "
                       f"{counts['different']} different from what was asked")
    return ExitCode.OK if all_done else ExitCode.CHANGES


COMMANDS: list[click.Command] = [runbook_group]
