"""The jinja2 environment shared by every template, and terminal colour."""

from __future__ import annotations

import contextlib
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


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """jinja2's compiled templates kept between runs (compiling the text templates was
    about 12 ms of every plan), in jinja2's default per-user directory only: a directory
    of the system's temporary one that jinja2 creates 0700 and refuses unless this user
    owns it with that mode, so no other user can plant code in it. Never a directory in the
    repository or .reconciler/: a pull request could commit compiled templates there and
    have CI run them. An entry is used only for the same template file and source (jinja2
    keys it by name and path, checks its source's checksum and its own Python version);
    a cache that cannot be written is skipped, never an error."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        # a full or read-only temporary directory: compiled again next time
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _template_cache() -> jinja2.BytecodeCache | None:
    try:
        return _TemplateCache()
    except (OSError, RuntimeError):
        return None  # no safe per-user directory: templates are compiled on each run


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reconciler", "templates"),
        bytecode_cache=_template_cache(),
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


