"""Plain words for the YAML parser's errors: one line, at the place the user must look
(an unclosed bracket where it was opened, a tab where it is), saying what would be right.
The loader (reconciler/yamlload.py) calls these; nothing else does."""

from __future__ import annotations

import yaml

from reconciler.errors import InputError
from reconciler.model import Mark


def line_col(text: str, index: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def bad_utf8(data: bytes, exc: UnicodeDecodeError, name: str) -> InputError:
    good = data[: exc.start].decode("utf-8")
    line, col = line_col(good, len(good))
    msg = f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})"
    return InputError(msg, Mark(name, line, col))


def syntax_error(exc: yaml.YAMLError, text: str, name: str, *, c_parser: bool) -> InputError:
    """One plain line for the parser's error, at the place the user must look."""
    if isinstance(exc, yaml.reader.ReaderError):
        pos = exc.position
        if c_parser:  # libyaml reports a byte offset into the UTF-8 encoding
            pos = len(text.encode("utf-8")[:pos].decode("utf-8", "ignore"))
        line, col = line_col(text, pos)
        msg = f"control character U+{exc.character:04X} is not allowed; remove it"
        return InputError(msg, Mark(name, line, col))
    raw_problem: str | None = getattr(exc, "problem", None) or str(exc)
    raw_context: str | None = getattr(exc, "context", None)
    problem, context = (raw_problem or "").lower(), (raw_context or "").lower()
    pm, cm = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    line, col = (pm.line + 1, pm.column + 1) if pm else (1, 1)
    lines = text.split("\n")
    for ln in (line, cm.line + 1 if cm else line):  # a tab in the indentation of either line
        src = lines[ln - 1] if ln <= len(lines) else ""
        indent = src[: len(src) - len(src.lstrip(" \t"))]
        if "\t" in indent:
            mark = Mark(name, ln, indent.index("\t") + 1)
            return InputError("tab characters are not allowed for indentation; use spaces", mark)
    where = f"line {cm.line + 1}" if cm else "here"
    if "quoted scalar" in context and "end of stream" in problem and cm:
        return InputError(
            "unclosed quoted string; add the closing quote (the same kind as the opening one)",
            Mark(name, cm.line + 1, cm.column + 1),
        )
    if "flow" in context and _blank_from(lines, line, col):
        opened = _unclosed_bracket(lines)
        if opened is not None:  # at the end of the file: point at what was left open
            (ln, c), ch = opened
            close = "]" if ch == "[" else "}"
            msg = f'unclosed "{ch}" (opened at line {ln}): close it with "{close}"'
            return InputError(msg, Mark(name, ln, c))
    if "block collection" in context and (
        "expected '-' indicator" in problem or "expected <block end>" in problem
    ):
        msg = (
            f"this line's indentation does not match the list above it ({where}); "
            "indent list items alike"
        )
        return InputError(msg, Mark(name, line, col))
    if "expected ':'" in problem and cm:
        msg = f"expected 'key: value' but the key on {where} has no ':'"
        return InputError(msg, Mark(name, cm.line + 1, cm.column + 1))
    if "cannot start any token" in problem:
        src = lines[line - 1] if line <= len(lines) else ""
        ch = src[col - 1] if col <= len(src) else "?"
        msg = f"a value cannot start with {ch!r}; put the value in quotes"
    elif "mapping values are not allowed" in problem:
        msg = "unexpected ':' (a value containing ': ' must be quoted; or check the indentation)"
    elif "expected key" in problem or "expected <block end>" in problem:
        msg = "expected 'key: value' lined up with the keys above; check the indentation"
    elif "flow sequence" in context:
        msg = f"expected ',' or ']' in the list opened at {where}"
    elif "flow mapping" in context:
        msg = f"expected ',' or '}}' in the mapping opened at {where}"
    elif "escape" in problem:
        msg = "unknown escape (\\) in a double-quoted string; use single quotes or write \\\\"
    elif "tag" in problem:
        msg = "tags (!...) are not allowed"
    elif "directive" in context:
        msg = "YAML directives (%...) are not supported"
    elif "anchor" in context or "alias" in context:
        msg = "anchors and aliases (&/*) are not supported in account files"
    else:
        msg = f"invalid YAML: {raw_problem}"
        if raw_context:
            msg += f" ({raw_context} at {where})"
    return InputError(" ".join(msg.split()), Mark(name, line, col))


def _blank_from(lines: list[str], line: int, col: int) -> bool:
    """Nothing but spaces and comments from ``line``:``col`` (1-based) to the end."""
    rest = [lines[line - 1][col - 1:]] if line <= len(lines) else []
    return all(not r.strip() or r.strip().startswith("#") for r in rest + lines[line:])


def _unclosed_bracket(lines: list[str]) -> tuple[tuple[int, int], str] | None:
    """The innermost flow ``[``/``{`` never closed: ((line, col), bracket), 1-based.

    A rough scan, only used to word an error: it skips quoted strings and comments, and in
    block context counts a bracket only where a value starts (``key: [``, ``- {``)."""
    stack: list[tuple[tuple[int, int], str]] = []
    quote = ""
    for ln, src in enumerate(lines, 1):
        prev = " "
        for c, ch in enumerate(src, 1):
            if quote:
                if ch == quote and not (quote == '"' and prev == "\\"):
                    quote = ""
                prev = "" if prev == "\\" else ch  # an escaped backslash escapes nothing
                continue
            if ch in "'\"" and (stack or prev in " :-[{,"):
                quote = ch
            elif ch == "#" and prev in " \t":
                break
            elif ch in "[{" and (stack or src[: c - 1].rstrip()[-1:] in ("", ":", "-", "?")):
                stack.append(((ln, c), ch))
            elif ch in "]}" and stack:
                stack.pop()
            prev = ch
    return stack[-1] if stack else None
