"""The one place that makes outside text safe for each kind of output.

Names, e-mail addresses, external ids, file names and the platforms' messages may hold
anything: a newline that starts a line of its own (a forged log line, a key in a YAML file,
a line outside a PR comment's code fence), ``|`` that splits a markdown table cell,
``<img ...>``, an ANSI or OSC escape that repaints a reviewer's terminal, a right-to-left
override that makes text read differently from what it is, or ``::add-mask::`` that a
GitHub runner would obey. One function per kind of output:

- :func:`terminal` — text for a terminal or a CI log (every text format, error lines):
  one line, control and format characters (bidi overrides included) shown escaped.
- :func:`md` — a GitHub comment (markdown table cells and HTML blocks in it).
- HTML — jinja2's autoescape of the ``html`` templates, over :func:`terminal`'s output.
- :func:`workflow_command_property` / :func:`workflow_command_message` — the parts of a
  GitHub workflow command (``validate --format github``).
- :func:`guard_line` — the last word on every line the CLI writes (reconciler.cli.output):
  no line can begin a GitHub workflow command, and no control character gets through.

This module imports nothing from reconciler, so every other module may use it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")

#: categories shown escaped: controls, format characters (bidi overrides, zero-width
#: characters), line and paragraph separators, lone surrogates
_HIDDEN = frozenset(("Cc", "Cf", "Zl", "Zp", "Cs"))
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _hidden(ch: str) -> bool:
    return unicodedata.category(ch) in _HIDDEN


def _visible(ch: str) -> str:
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def terminal(text: str) -> str:
    """One line for a terminal or a log: line breaks, tabs, escapes (ANSI, OSC), bidi
    overrides and other invisible characters shown as ``\\n``, ``\\x1b``, ``\\u202e``."""
    if text.isprintable():  # for ASCII: no control character (nearly every text)
        return text
    return "".join(_visible(c) if _hidden(c) else c for c in text)


#: kept for older imports: a line of text as the reviewer should see it
one_line = terminal


def mask_email(text: str) -> str:
    """``jstucker@vertical.com`` -> ``j***@vertical.com`` wherever an address appears."""
    return EMAIL.sub(r"\1***@\2", text)


# Entities rather than backslashes: they work in table cells *and* inside the HTML blocks
# (<summary>) of a GitHub comment, where backslash escapes would show literally.
_MD = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
    "|": "&#124;",
    "`": "&#96;",
    "\\": "&#92;",
    "*": "&#42;",
    "_": "&#95;",
    "~": "&#126;",
    "[": "&#91;",
    "]": "&#93;",
    "@": "&#64;",  # no @mentions of people from a user's name
    "$": "&#36;",  # no math rendering
    # what GitHub would turn into a link or a reference: https://..., www., #123
    "://": "&#58;//",
    "::": "&#58;&#58;",  # nor a workflow command, should the text reach a log
    "www.": "www&#46;",
    "WWW.": "WWW&#46;",
}
_MD_RE = re.compile("|".join(re.escape(k) for k in sorted(_MD, key=len, reverse=True))
                    + r"|#(?=[0-9A-Za-z])")


def md(text: str) -> str:
    """Text safe in a GitHub markdown table cell and in an HTML block of a comment: no
    markup, mention, link, image or reference can come out of it."""
    return _MD_RE.sub(lambda m: _MD.get(m.group(0), "&#35;"), terminal(text))


def workflow_command_message(text: str) -> str:
    """The message of a GitHub workflow command (``::error ...::MESSAGE``): one line."""
    text = terminal(text).replace("%", "%25")
    return text.replace("##[", "#%23[")


def workflow_command_property(text: str) -> str:
    """A property value of a workflow command (``file=VALUE``), as actions/toolkit escapes."""
    return workflow_command_message(text).replace(":", "%3A").replace(",", "%2C")


# ------------------------------------------------------------------ the last word per line

#: our own terminal sequences, the only escapes let through: the colours and weights
#: reconciler paints with (reset, bold, dim, normal, red, green, yellow, magenta, cyan,
#: default colour; not conceal, reverse, blink or any colour that could match the
#: background), erase line, cursor hide/show (click's progress bar)
_SGR = r"(?:0|1|2|22|3[1235679])"
_OWN_ESCAPES = re.compile(rf"\x1b\[(?:(?:{_SGR}(?:;{_SGR})*)?m|[0-2]?K|\?25[lh])")


def guard_line(line: str, *, tty: bool = False) -> str:
    """A line (its end included) as the CLI may write it to stdout or stderr.

    - A line that begins (after blanks: any Unicode white space, as the runner's .NET
      ``TrimStart`` skips U+00A0 or U+3000 too) with ``::`` would be a workflow command
      to a GitHub runner (``::add-mask::``, ``::stop-commands::``), and ``##[`` anywhere one
      of the older form: the first character is written as ``\\u003a`` / ``\\u0023``.
    - Control and format characters are written as ``\\uXXXX`` (valid inside a JSON
      string, where alone they can occur in JSON output), except the line end, tabs, our
      own colour sequences, and carriage returns on a terminal (the progress bar).
    """
    body = line[:-1] if line.endswith("\n") else line
    end = line[len(body):]
    if not (body.isascii() and not _ASCII_CONTROL.search(body)) and not body.isprintable():
        body = _escape_hidden(body, tty)
    stripped = body.lstrip()
    if stripped.startswith("::"):
        at = len(body) - len(stripped)
        body = body[:at] + "\\u003a" + body[at + 1:]
    if "##[" in body:
        body = body.replace("##[", "#\\u0023[")
    return body + end


def _escape_hidden(body: str, tty: bool) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\x1b":
            own = _OWN_ESCAPES.match(body, i)
            if own:
                out.append(own.group(0))
                i = own.end()
                continue
        if ch == "\t" or (ch == "\r" and tty) or not _hidden(ch):
            out.append(ch)
        else:
            code = ord(ch)
            if code > 0xFFFF:  # as a JSON string writes it: a surrogate pair
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")
        i += 1
    return "".join(out)


def walk_strings(data: Any, fn: Callable[[str], str]) -> Any:
    """A copy of plain data (dicts, lists) with ``fn`` applied to every string value."""
    if isinstance(data, str):
        return fn(data)
    if isinstance(data, dict):
        return {k: fn(v) if isinstance(v, str) else walk_strings(v, fn) if isinstance(v, _NESTED)
                else v for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [fn(v) if isinstance(v, str) else walk_strings(v, fn) if isinstance(v, _NESTED)
                else v for v in data]
    return data


_NESTED = (dict, list, tuple)
