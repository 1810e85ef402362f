"""``report``: the fleet view across accounts, from live state and the files."""

from __future__ import annotations

import io
from pathlib import Path

import click

from reconciler.errors import ExitCode

from .options import config_option, format_option, paths_argument

DEFAULT_PATHS = ("accounts",)


@click.command("report")
@paths_argument
@format_option("text", "html", "csv", "json")
@click.option("-o", "--output", "out", default=None, type=click.Path(path_type=str),
              help="Write the report to FILE instead of standard output.")
@config_option
def report_command(paths: tuple[str, ...], fmt: str, out: str | None,
                   config_path: str) -> ExitCode:
    """Fleet report: per customer and platform, licences held vs used (idle licences still
    billed, and the money they waste), monthly cost, revenue and margin, trials ending in
    the next 30 days, pending orders and Service Desk requests. Reads every platform;
    writes nothing to one.

    \b
    Examples:
      reconciler report
      reconciler report --format html -o plans/report.html
      reconciler report --format csv -o plans/report.csv   # opens in a spreadsheet
      reconciler report accounts/contoso-c2t.yaml --format json
    """
    from reconciler.config import load_config
    from reconciler.errors import ReconcilerError
    from reconciler.render.report import render_report
    from reconciler.report import make_report

    data = make_report(list(paths) or list(DEFAULT_PATHS), load_config(config_path))
    buffer = io.StringIO()
    render_report(data, fmt, buffer)
    if out is None:
        click.echo(buffer.getvalue(), nl=False)
        return ExitCode.OK
    # CSV for a spreadsheet: a UTF-8 byte order mark, so a customer's accented name
    # shows as written (Excel reads BOM-less CSV in the local code page)
    encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
    try:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", encoding=encoding, newline="") as fh:
            fh.write(buffer.getvalue())
    except OSError as e:
        raise ReconcilerError(f"cannot write the report to {out}: {e.strerror or e}") from e
    click.echo(f"wrote the report to {out}", err=True)
    return ExitCode.OK


COMMANDS: list[click.Command] = [report_command]
