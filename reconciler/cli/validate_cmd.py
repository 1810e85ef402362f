"""``reconciler validate``: schema and platform rules over account files; no platform access."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import click

from reconciler.accounts import AccountStream
from reconciler.config import Config, load_config
from reconciler.errors import ExitCode, InputError, ValidationFailed
from reconciler.pricebook import load_catalogs
from reconciler.schema import sorted_errors

from .options import config_option, format_option, paths_argument
from .output import annotation


@dataclass(frozen=True)
class Report:
    errors: tuple[InputError, ...]
    accounts: int

    @property
    def valid(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.valid:
            return f"{self.accounts} account{'' if self.accounts == 1 else 's'} valid"
        files = len({e.file for e in self.errors})
        n = len(self.errors)
        return f"{n} error{'' if n == 1 else 's'} in {files} file{'' if files == 1 else 's'}"


def check_all(paths: Sequence[str], config_path: str | None) -> Report:
    """Every error of reconciler.yaml, the price book and the account files, in one run."""
    errors: list[InputError] = []
    config = Config()
    try:
        config = load_config(config_path)
        load_catalogs(config)
    except ValidationFailed as e:
        errors.extend(e.errors)
    except InputError as e:
        errors.append(e)
    # one file at a time: memory stays that of the largest account, not of them all
    stream = AccountStream(paths, config)
    count = sum(1 for _ in stream)
    errors.extend(stream.errors)
    return Report(tuple(sorted_errors(errors)), count)


@click.command(
    "validate",
    epilog="""\b
Examples:
  reconciler validate
  reconciler validate accounts/vertical-demo.yaml
  reconciler validate --format github      # annotations on a pull request
  reconciler validate --format json | jq .errors""",
)
@paths_argument
@config_option
@format_option("text", "github", "json")
def validate(paths: tuple[str, ...], config_path: str, fmt: str) -> ExitCode:
    """Check account files (default: accounts/) against the schema and each platform's rules.

    Reports every error of every file, one line each, file:line:col: message. Reads no
    platform. Exit status 0 when all files are valid, 1 otherwise.
    """
    report = check_all(paths, config_path)
    if fmt == "json":
        click.echo(
            json.dumps(
                {"valid": report.valid, "errors": [_json(e) for e in report.errors]}, indent=2
            )
        )
    elif fmt == "github":
        for error in report.errors:  # an annotation on the file's line in the PR
            mark = error.mark
            annotation("error", error.message, file=error.file,
                       line=mark.line if mark else None, col=mark.col if mark else None)
    else:
        for error in report.errors:
            click.echo(str(error))
    click.echo(report.summary(), err=True)
    return ExitCode.OK if report.valid else ExitCode.ERROR


def _json(error: InputError) -> dict[str, object]:
    mark = error.mark
    return {
        "file": error.file,
        "line": mark.line if mark else None,
        "col": mark.col if mark else None,
        "message": error.message,
    }


COMMANDS: list[click.Command] = [validate]
