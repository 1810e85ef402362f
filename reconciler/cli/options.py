"""Options shared by several commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

F = Callable[..., Any]

paths_argument = click.argument("paths", nargs=-1, type=click.Path(path_type=str))

def _config_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    from reconciler.project import config_path

    return config_path(value)


config_option = click.option(
    "--config",
    "config_path",
    default=None,
    callback=_config_path,
    metavar="FILE",
    help="Configuration file [default: the reconciler.yaml found from here up to the "
    "repository root; without one every platform is the sandbox]. PATHS default to "
    "accounts/ beside it.",
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


class Duration(click.ParamType):
    """``90``, ``90s``, ``5m``, ``1h``, ``1m30s`` -> seconds (float)."""

    name = "duration"
    _UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        import re

        text = str(value).strip().lower()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return float(text)
        parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", text)
        if not parts or "".join(n + u for n, u in parts) != text:
            self.fail(f"{value!r} is not a duration such as 30s, 5m or 1h30m", param, ctx)
        return sum(float(n) * self._UNITS[u] for n, u in parts)


lock_timeout_option = click.option(
    "--lock-timeout",
    type=Duration(),
    default="0s",
    show_default=True,
    help="How long to wait for another run holding an account's lock (e.g. 10m) "
    "before giving up.",
)


color_option = click.option(
    "--color/--no-color",
    "color",
    default=None,
    help="Colour the output (default: only when stdout is a terminal and NO_COLOR is unset).",
)


parallelism_option = click.option(
    "--parallelism",
    "parallelism",
    type=click.IntRange(min=1, max=256),
    default=8,
    show_default=True,
    help="Accounts read (and applied) at once; the output is the same whatever N. "
    "Each platform's max_concurrency and rate_limit in reconciler.yaml still apply.",
)


mask_option = click.option(
    "--mask-emails",
    is_flag=True,
    help="Show e-mail addresses as j***@example.com (for public PR comments).",
)
text_color_option = click.option(
    "--color/--no-color",
    "color",
    default=None,
    help="Colour the text format (default: only when stdout is a terminal and NO_COLOR is unset).",
)
