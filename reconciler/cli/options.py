"""Options shared by several commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

F = Callable[..., Any]

paths_argument = click.argument("paths", nargs=-1, type=click.Path(path_type=str))

config_option = click.option(
    "--config",
    "config_path",
    default="reconciler.yaml",
    show_default=True,
    help="Configuration file (optional; without it every platform is the sandbox).",
)

account_option = click.option(
    "--account", "account", default=None, help="Only this account (its slug)."
)


def format_option(*choices: str, default: str = "text") -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help="Output format.",
    )
