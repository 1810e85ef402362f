"""A fast path of the YAML loader for the plain block style account files are written in.

:func:`fast_parse` reads a document line by line, without libyaml's event objects, when
every line is of a small subset: ``key: value`` lines and ``- item`` lines in block style,
plain scalars on one line, quotes without escapes, the simple flow collections ``[a, b]``
and ``{k: v}``, whole-line and end-of-line comments. Anything else — tabs, a carriage
return, a BOM or any character outside the printable ones, multi-line scalars, block
scalars, anchors, aliases, tags, directives, document markers, empty values, nested or
odd flow collections, a key that is not a plain string, a duplicate key, an integer YAML
1.1 would change, deeper nesting than a few levels — makes it return None, and the caller
(reconciler.yamlload) reads the document with the full loader instead. So the fast path
never refuses anything: every error, soft or hard, is the full loader's.

What it returns is what the full loader returns, value for value, mark for mark
(line:col), ``.texts`` included: scalars are resolved by the same function
(``yamlload.plain_scalar``). tests/test_yamlfast.py compares the two over generated
documents, and tests/test_yamlload.py runs every loader test with and without it.
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.model import Mark
from reconciler.yamlnodes import RESOLVED_FIRST, MarkedDict, MarkedList, plain_scalar, plain_tag

#: anything outside printable ASCII and the line feed sends a document to the full loader,
#: except printable non-ASCII characters (isprintable() excludes NEL, the Unicode line and
#: paragraph separators, the BOM, surrogates and every control character)
_ODD = re.compile(r"[^\x20-\x7e\n]")
#: deeper documents go to the full loader (it refuses past yamlload.MAX_DEPTH)
_MAX_DEPTH = 16
#: simple keys are at most 1024 characters in YAML; longer ones go to the full loader
_MAX_KEY = 1000

#: ``key:`` then nothing, or blanks and the rest: the key a plain scalar that cannot start
#: with an indicator, without ':' or '#'
_KEY = re.compile(r"([^ \-?:,\[\]{}#&*!|>'\"%@`][^:#]*):(?: +(.*))?\Z")
#: after a quoted or flow value: nothing, or blanks and a comment
_END = r"(?: +(?:#.*)?)?\Z"
_DQ = re.compile(r'"([^"\\]*)"' + _END)
_SQ = re.compile(r"'([^']*)'" + _END)
#: an item of a flow collection: a few plain words, or a quoted string without escapes
_WORD = r"[A-Za-z0-9_][A-Za-z0-9_.@+/-]*(?: [A-Za-z0-9_.@+/-]+)*"
_ITEM = re.compile(r"(" + _WORD + r")|\"([^\"\\]*)\"|'([^']*)'")
_FLOW_KEY = re.compile(r"(" + _WORD + r"): +")
_SEP = re.compile(r" *(?:(,) *|(?=[\]}]))")
_CLOSE = re.compile(r" *([\]}])" + _END)
_OPEN = re.compile(r"[\[{] *")
_PLAIN_START_OK = frozenset("-?:")
#: a plain scalar ending so is not one (a blank is trimmed, a ':' is a mapping's)
_PLAIN_END = frozenset(" :")
#: the keys read so far that YAML reads as strings (account files repeat a dozen keys)
_KEYS: dict[str, str] = {}
_new = tuple.__new__  # a Mark without the named tuple's Python-level __new__
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")


class _Fallback(Exception):
    """Outside the subset: the full loader reads the document."""


def fast_parse(text: str, name: str) -> tuple[Any, Mark] | None:
    """(root mapping, its mark) of ``text``, or None when the full loader must read it."""
    for m in _ODD.finditer(text):
        ch = m.group()
        if ord(ch) < 0xA0 or not ch.isprintable():
            return None
    if text.startswith(("---", "...")) or "\n---" in text or "\n..." in text:
        return None  # a document marker (or what libyaml may take for one)
    lines: list[tuple[int, int, str]] = []  # (line number, indent, content) of content lines
    append = lines.append
    for number, line in enumerate(text.split("\n"), 1):
        content = line.lstrip(" ")
        if content and content[0] != "#":
            append((number, len(line) - len(content), content))
    if not lines:
        return None
    try:
        reader = _Reader(lines, name)
        root = reader.mapping(0, lines[0][1], lines[0][2], lines[0][1], 1)
        if reader.pos != len(lines):
            return None
    except _Fallback:
        return None
    assert root.mark is not None  # every mapping is made with its mark
    return root, root.mark


class _Reader:
    def __init__(self, lines: list[tuple[int, int, str]], name: str) -> None:
        self.lines = lines
        self.name = name
        self.pos = 0  # the next content line to read

    def mapping(self, at: int, col: int, content: str, indent: int, depth: int) -> MarkedDict:
        """The block mapping whose first key is ``content`` at column ``col`` (0-based) of
        content line ``at``; its other keys are on lines indented ``col``. ``indent``: the
        indentation of line ``at`` (less than ``col`` for ``- key: value``)."""
        if depth > _MAX_DEPTH:
            raise _Fallback
        lines = self.lines
        name = self.name
        number = lines[at][0]
        out = MarkedDict(mark=_new(Mark, (name, number, col + 1)))
        key_marks, value_marks, texts = out.key_marks, out.value_marks, out.texts
        while True:
            match = _KEY.match(content)
            if match is None:
                raise _Fallback
            key_text, rest = match.groups()
            key = _KEYS.get(key_text)
            if key is None:
                key = _key(key_text)
            if key in out:
                raise _Fallback  # the full loader words the duplicate
            key_marks[key] = _new(Mark, (name, number, col + 1))
            self.pos = at + 1
            if rest and rest[0] != "#":
                value_mark = _new(Mark, (name, number, col + 1 + len(content) - len(rest)))
                if (rest[0] not in _INDICATORS and " #" not in rest and ": " not in rest
                        and rest[-1] not in _PLAIN_END):
                    # the commonest value: a plain scalar up to the end of the line
                    if rest[0] not in RESOLVED_FIRST:
                        value = rest
                    else:
                        value, read_as = _plain(rest, value_mark)
                        if read_as:
                            texts[key] = rest
                else:
                    value, text = self.inline(rest, value_mark)
                    if text is not None:
                        texts[key] = text
            else:
                value = self.block(col, depth)
                value_mark = value.mark
            out[key] = value
            value_marks[key] = value_mark
            if self.pos == len(lines):
                return out
            at = self.pos
            number, next_indent, content = lines[at]
            if next_indent < col:
                if col == indent or next_indent <= indent:
                    return out
                raise _Fallback  # between the item's dash and its keys
            if next_indent > col:
                raise _Fallback  # a continuation line, or a syntax error

    def block(self, col: int, depth: int) -> Any:
        """The collection under a ``key:`` at column ``col`` with nothing after it."""
        if self.pos == len(self.lines):
            raise _Fallback  # an empty value
        at = self.pos
        _, indent, content = self.lines[at]
        is_item = content[:2] == "- "
        if indent > col:
            if is_item:
                return self.sequence(indent, depth + 1)
            return self.mapping(at, indent, content, indent, depth + 1)
        if indent == col and is_item:
            return self.sequence(indent, depth + 1)  # a list not indented under its key
        raise _Fallback  # an empty value

    def sequence(self, indent: int, depth: int) -> MarkedList:
        """The block sequence whose items are ``- `` at column ``indent``."""
        if depth > _MAX_DEPTH:
            raise _Fallback
        lines = self.lines
        out = MarkedList(mark=Mark(self.name, lines[self.pos][0], indent + 1))
        item_marks, texts = out.item_marks, out.texts
        while True:
            at = self.pos
            number, _, content = lines[at]
            item = content[2:].lstrip(" ")
            item_col = indent + len(content) - len(item)
            if not item or item[0] == "#":
                raise _Fallback  # an empty item, or a block under the dash
            if item[:2] == "- " or item == "-":
                raise _Fallback  # a list in a list
            if _KEY.match(item) is not None:
                value: Any = self.mapping(at, item_col, item, indent, depth + 1)
                mark = value.mark
            else:
                self.pos = at + 1
                mark = _new(Mark, (self.name, number, item_col + 1))
                value, text = self.inline(item, mark)
                if text is not None:
                    texts[len(out)] = text
            out.append(value)
            item_marks.append(mark)
            if self.pos == len(lines):
                return out
            _, next_indent, content = lines[self.pos]
            if next_indent < indent:
                return out
            if next_indent > indent:
                raise _Fallback  # a continuation line, or a syntax error
            if content[:2] != "- ":
                return out  # a key of the mapping this list is not indented under

    def inline(self, rest: str, mark: Mark) -> tuple[Any, str | None]:
        """The value written on the line after ``key: `` or ``- ``, at ``mark``: (value,
        the text of a non-string scalar for ``.texts``)."""
        first = rest[0]
        if first == '"' or first == "'":
            match = (_DQ if first == '"' else _SQ).match(rest)
            if match is None:
                raise _Fallback
            return match.group(1), None
        if first == "[" or first == "{":
            return self.flow(rest, mark.line, mark.col - 1), None
        if first in _INDICATORS and not (first in _PLAIN_START_OK and rest[1:2] not in ("", " ")):
            raise _Fallback
        cut = rest.find(" #")
        text = (rest if cut < 0 else rest[:cut]).rstrip(" ")
        if ": " in text or text.endswith(":"):
            raise _Fallback
        value, read_as = _plain(text, mark)
        return value, text if read_as else None

    def flow(self, rest: str, number: int, col: int) -> MarkedDict | MarkedList:
        """``[a, b]`` or ``{k: v}`` on one line, of plain words and quoted strings."""
        is_map = rest[0] == "{"
        out: Any = MarkedDict(mark=Mark(self.name, number, col + 1)) if is_map \
            else MarkedList(mark=Mark(self.name, number, col + 1))
        pos = _OPEN.match(rest).end()  # type: ignore[union-attr]
        close = "}" if is_map else "]"
        while rest[pos:pos + 1] != close:
            key: Any = None
            if is_map:
                match = _FLOW_KEY.match(rest, pos)
                if match is None:
                    raise _Fallback
                key = _key(match.group(1))
                if key in out:
                    raise _Fallback
                out.key_marks[key] = Mark(self.name, number, col + pos + 1)
                pos = match.end()
            match = _ITEM.match(rest, pos)
            if match is None:
                raise _Fallback
            mark = Mark(self.name, number, col + pos + 1)
            read_as = False
            if match.group(1) is not None:
                value, read_as = _plain(match.group(1), mark)
            else:
                value = match.group(2) if match.group(2) is not None else match.group(3)
            if is_map:
                out[key] = value
                out.value_marks[key] = mark
                if read_as:
                    out.texts[key] = match.group(1)
            else:
                if read_as:
                    out.texts[len(out)] = match.group(1)
                out.append(value)
                out.item_marks.append(mark)
            sep = _SEP.match(rest, match.end())
            if sep is None:
                raise _Fallback
            pos = sep.end()
            if sep.group(1) is not None and rest[pos:pos + 1] in ("]", "}"):
                raise _Fallback  # a trailing comma
        if _CLOSE.match(rest, pos) is None or rest[pos] != close:
            raise _Fallback
        return out


def _key(text: str) -> str:
    """A mapping key: a plain scalar YAML reads as a string (else the full loader)."""
    if text[-1] == " " or len(text) > _MAX_KEY or plain_tag(text) is not None:
        raise _Fallback  # a boolean, a number, null, a merge key: the full loader's
    if len(_KEYS) < 4096:
        _KEYS[text] = text
    return text


def _plain(text: str, mark: Mark) -> tuple[Any, bool]:
    """A plain scalar as the full loader reads it, and whether ``.texts`` keeps its text;
    anything it would refuse or warn about goes to the full loader."""
    soft: list[Any] = []
    try:
        value = plain_scalar(text, mark, soft)
    except Exception:  # noqa: BLE001 - the full loader words the refusal
        raise _Fallback from None
    if soft:
        raise _Fallback
    return value, value is not None and not isinstance(value, str)
