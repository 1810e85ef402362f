"""The jinja2 environment shared by every template, and terminal colour."""

from __future__ import annotations

from functools import lru_cache
from typing import IO, Any

import click
import jinja2

from reconciler.render.view import RICH_ARROW

_STYLES: dict[str, dict[str, Any]] = {
    "add": {"fg": "green"},
    "remove": {"fg": "red"},
    "replace": {"fg": "magenta"},
    "change": {"fg": "yellow"},
    "manual": {"fg": "cyan", "bold": True},
    "blocked": {"fg": "red", "bold": True},
    "warning": {"fg": "yellow"},
    "bold": {"bold": True},
    "dim": {"dim": True},
}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reconciler", "templates"),
        undefined=jinja2.StrictUndefined,
        # only the HTML page is autoescaped; markdown text is escaped by render.escape.md
        autoescape=lambda name: bool(name and name.startswith("html")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # the markdown pieces are measured one by one (render.markdown), outside any plan view
    env.globals["rich_arrow"] = RICH_ARROW
    return env


def paint(color: bool) -> Any:
    """The template's ``paint(style, text)``: ANSI colour on a terminal, plain otherwise."""

    def _paint(style: str, text: Any) -> str:
        return click.style(str(text), **_STYLES[style]) if color else str(text)

    return _paint


def render_template(name: str, fh: IO[str], **context: Any) -> None:
    fh.write(environment().get_template(name).render(**context))


