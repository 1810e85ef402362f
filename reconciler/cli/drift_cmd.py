"""``drift``: what differs on the platforms from what the files say, account by account.

The report goes to stdout. Exit codes: 2 when there is drift, 0 when there is none, 1 on an
error (reconciler.errors). The planner and the templates are loaded only when drift runs.
"""

from __future__ import annotations

import click

from reconciler.cli.options import (
    account_option,
    config_option,
    format_option,
    mask_option,
    parallelism_option,
    paths_argument,
    text_color_option,
)
from reconciler.cli.output import echo_rendered, use_color
from reconciler.errors import ExitCode

#: render.drift.DRIFT_FORMATS, named here so that ``drift --help`` loads no template
FORMATS = ("text", "markdown", "json")


@click.command("drift")
@paths_argument
@config_option
@format_option(*FORMATS)
@account_option
@mask_option
@text_color_option
@parallelism_option
def drift_command(
    paths: tuple[str, ...],
    config_path: str,
    fmt: str,
    account: str | None,
    mask_emails: bool,
    color: bool | None,
    parallelism: int,
) -> ExitCode:
    """Report what differs on the platforms from what the files say.

    The files on the default branch were applied when merged, so any difference now was
    made on a platform (a swap in the portal, an expired trial, a user added by hand).
    Exits 2 when there is drift, 0 when there is none, 1 on an error.

    \b
    Examples:
      reconciler drift
      reconciler drift --account contoso
      reconciler drift --format markdown > drift.md
    """
    from reconciler.cli import plan_cmd
    from reconciler.render.drift import DriftWriter

    colored = use_color(color) and fmt == "text"
    drift = DriftWriter(fmt, color=colored, mask_emails=mask_emails)
    # every difference counts, whatever the policies would allow a plan to do about it;
    # each account's drift is written as it is planned (the one orchestration path of
    # plan), and printed once all are
    plan = plan_cmd.stream_plan(paths, config_path, drift.add, allow_downgrade=True,
                                force=True, account=account, parallelism=parallelism)
    echo_rendered(lambda fh: drift.finish(plan, fh), colored)
    return ExitCode.CHANGES if drift.drifted else ExitCode.OK


COMMANDS: list[click.Command] = [drift_command]
