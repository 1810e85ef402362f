"""Load one YAML file into plain Python values that remember where each node came from.

Every refusal is an :class:`~reconciler.errors.InputError` whose ``str()`` is one line,
``file:line:col: message`` (1-based). The loader streams parser events (libyaml's C parser
where installed) and builds the result itself, iteratively, so that aliases, deep nesting,
tags, merge keys and duplicate keys are refused *before* anything is expanded: no input
can make it hang or raise ``RecursionError``.

Scalars follow YAML 1.1 (as PyYAML's ``SafeLoader``) except that timestamps stay strings:
``"0123"`` is a str, ``0123`` is the octal int 83, ``yes``/``no``/``on``/``off`` are
booleans (also as mapping keys), ``2024-05-01`` is the str ``"2024-05-01"``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from reconciler import yamlfast
from reconciler.errors import InputError
from reconciler.model import Mark
from reconciler.yamlerrors import bad_utf8, line_col, syntax_error
from reconciler.yamlnodes import MarkedDict, MarkedList, plain_scalar, scalar_value, tag_text

__all__ = [
    "MAX_DEPTH", "MarkedDict", "MarkedList", "load_yaml", "loads_yaml", "mark_at", "text_at",
]

#: Collections nested deeper than this are refused (the top-level mapping is level 1).
MAX_DEPTH = 64
#: plain block-style documents are read by reconciler.yamlfast (same values, marks and
#: errors, a fraction of the time); False: always the event-based loader below (tests)
FAST_PATH = True

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_C_PARSER = _Loader is not yaml.SafeLoader
_YAML = "tag:yaml.org,2002:"
_MERGE = _YAML + "merge"
_MAP_TAGS = (None, "!", _YAML + "map")
_SEQ_TAGS = (None, "!", _YAML + "seq")
_SUFFIXES = (".yaml", ".yml")


def load_yaml(
    path: str | os.PathLike[str],
    *,
    display_name: str | None = None,
    expect_mapping: bool = True,
    require_yaml_suffix: bool = True,
    soft_errors: list[InputError] | None = None,
    digests: dict[str, str] | None = None,
) -> Any:
    """Load the single YAML document in ``path`` as MarkedDict/MarkedList/scalars.

    ``display_name`` (default: ``path`` as given) is the file name used in marks and
    errors. Raises :class:`InputError` (one line, no traceback) for anything refused.
    With a ``soft_errors`` list, refusals after which the rest of the file can still be
    read (an integer YAML 1.1 would change, a duplicate key) are appended to it instead
    and loading goes on, so that one run reports them all. With a ``digests`` dict, the
    sha256 of the bytes read is stored in it under the display name (``sha256:HEX``, as
    review.file_digest words it), so that a plan's sources need not read the file again.
    """
    name = display_name if display_name is not None else os.fspath(path)
    if require_yaml_suffix and not os.fspath(path).lower().endswith(_SUFFIXES):
        raise InputError("not a YAML file (expected .yaml or .yml)", file=name)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", file=name) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a YAML file", file=name) from None
    except PermissionError:
        raise InputError("cannot read file: permission denied", file=name) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", file=name) from None
    if digests is not None:
        digests[name] = "sha256:" + hashlib.sha256(data).hexdigest()
    return loads_yaml(data, name, expect_mapping=expect_mapping, soft_errors=soft_errors)


def loads_yaml(
    text: str | bytes, name: str = "<string>", *, expect_mapping: bool = True,
    soft_errors: list[InputError] | None = None,
) -> Any:
    """Like :func:`load_yaml`, from a string (bytes must be UTF-8); ``name`` goes in marks."""
    if isinstance(text, bytes):
        data = text
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise bad_utf8(data, exc, name) from None
    else:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            line, col = line_col(text, exc.start)
            msg = "text is not valid Unicode (lone surrogate)"
            raise InputError(msg, Mark(name, line, col)) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    soft: list[InputError] = []
    try:
        root, root_mark = _parse_text(text, name, soft)
    except InputError:
        if soft_errors is not None:
            soft_errors.extend(soft)  # found before the error that stopped the reading
        raise
    if soft:
        if soft_errors is None:
            raise soft[0]
        soft_errors.extend(soft)
    if root_mark is None:
        raise InputError("file is empty", Mark(name, 1, 1))
    if expect_mapping and not isinstance(root, dict):
        msg = f"top level must be a mapping (key: value), found {_kind(root)}"
        raise InputError(msg, root_mark)
    return root


def mark_at(root: Any, path: Sequence[str | int], *, key: bool = False) -> Mark | None:
    """The mark of the deepest node on ``path`` that exists (None if ``root`` has none).

    ``path`` is a sequence of mapping keys and list indexes, e.g. a jsonschema error's
    ``absolute_path``. With ``key=True`` and the last step an existing mapping key, the
    mark of that *key* is given instead of its value (for "unknown field" errors).
    """
    mark: Mark | None = getattr(root, "mark", None)
    node = root
    last = len(path) - 1
    for i, step in enumerate(path):
        if isinstance(node, MarkedDict):
            if step not in node:
                break
            mark = node.key_marks[step] if key and i == last else node.value_marks[step]
        elif isinstance(node, MarkedList) and isinstance(step, int) and 0 <= step < len(node):
            mark = node.item_marks[step]
        else:
            break
        node = node[step]
    return mark


def text_at(root: Any, path: Sequence[str | int]) -> str | None:
    """The source text of the boolean or number at ``path`` (``yes`` for True), if known."""
    node = root
    for step in path[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    texts = getattr(node, "texts", None)
    return texts.get(path[-1]) if texts is not None and path else None


# --------------------------------------------------------------------------- internals

#: how libyaml's own nesting limit words its refusal ("exceeded maximum nesting depth")
_LIBYAML_DEPTH = "maximum nesting depth"


def _parse_text(text: str, name: str, soft: list[InputError]) -> tuple[Any, Mark | None]:
    if FAST_PATH:
        fast = yamlfast.fast_parse(text, name)
        if fast is not None:
            return fast
    try:
        return _parse(_Loader, text, name, soft)
    except yaml.YAMLError as exc:
        if not (_C_PARSER and _LIBYAML_DEPTH in str(exc)):
            raise syntax_error(exc, text, name, c_parser=_C_PARSER) from None
    # libyaml >= 0.2.6 (PyYAML 6.0.4's wheels) refuses deep nesting itself, and its
    # scanner reads ahead of the events we count, so its error would come first and in
    # its own words. Our limit is ours: parse again with the pure-Python parser, which
    # has none, so the refusal is the same line whichever libyaml is installed.
    try:
        soft.clear()
        return _parse(yaml.SafeLoader, text, name, soft)
    except yaml.YAMLError as exc2:
        raise syntax_error(exc2, text, name, c_parser=False) from None


def _parse(
    loader_class: type, text: str, name: str, soft: list[InputError]
) -> tuple[Any, Mark | None]:
    loader = None
    try:
        loader = loader_class(text)  # the pure-Python reader checks characters here already
        return _build(loader, name, soft)
    except RecursionError:  # not expected: the builder is iterative; belt and braces
        raise InputError(f"nesting deeper than {MAX_DEPTH} levels", Mark(name, 1, 1)) from None
    finally:
        if loader is not None:
            loader.dispose()



def _build(loader: Any, name: str, soft: list[InputError]) -> tuple[Any, Mark | None]:
    """Turn the event stream into values; returns (root, root mark or None if no document).

    Errors after which the rest can still be read go to ``soft``; the others raise."""
    get_event = loader.get_event
    resolve = loader.resolve
    stack: list[Any] = []  # open collections
    keys: list[tuple[Any, Mark | None]] = []  # per open collection: (pending key, its mark)
    root: Any = None
    root_mark: Mark | None = None
    tag: str | None = None
    explicit = False
    get_event()  # StreamStartEvent
    while True:
        event = get_event()
        cls = event.__class__
        if cls is ScalarEvent:
            m = event.start_mark
            mark = Mark(name, m.line + 1, m.column + 1)
            tag = event.tag
            explicit = tag is not None and tag != "!"
            text = event.value
            if not explicit and event.implicit[0]:
                value = plain_scalar(text, mark, soft)
                if text == "<<":  # the one text YAML 1.1's merge resolver matches
                    tag = _MERGE
            elif not explicit:
                tag = resolve(yaml.ScalarNode, text, event.implicit)
                value = scalar_value(tag, text, explicit, mark, soft)
            else:
                value = scalar_value(tag, text, explicit, mark, soft)
        elif cls is MappingEndEvent or cls is SequenceEndEvent:
            value = stack.pop()
            keys.pop()
            mark = value.mark
        elif cls is MappingStartEvent or cls is SequenceStartEvent:
            m = event.start_mark
            mark = Mark(name, m.line + 1, m.column + 1)
            is_map = cls is MappingStartEvent
            if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                raise InputError(f"tag {tag_text(event.tag)} is not allowed", mark)
            if stack and keys[-1][0] is _NO_KEY and stack[-1].__class__ is MarkedDict:
                what = "mapping" if is_map else "list"
                raise InputError(f"a mapping key must be a plain value, not a {what}", mark)
            if len(stack) >= MAX_DEPTH:
                raise InputError(f"nesting deeper than {MAX_DEPTH} levels", mark)
            stack.append(MarkedDict(mark=mark) if is_map else MarkedList(mark=mark))
            keys.append((_NO_KEY, None))
            continue
        elif cls is AliasEvent:
            m = event.start_mark
            msg = "anchors and aliases (&/*) are not supported in account files"
            raise InputError(msg, Mark(name, m.line + 1, m.column + 1))
        elif cls is DocumentStartEvent:
            if root_mark is not None:
                m = event.start_mark
                msg = "more than one YAML document in the file; remove the extra '---'"
                raise InputError(msg, Mark(name, m.line + 1, m.column + 1))
            continue
        elif cls is StreamEndEvent:
            return root, root_mark
        else:  # DocumentEndEvent
            continue
        # a node is finished (a scalar or a closed collection): attach it to its parent
        if not stack:
            root, root_mark = value, mark
            continue
        parent = stack[-1]
        read_as = cls is ScalarEvent and value is not None and not isinstance(value, str)
        if parent.__class__ is MarkedList:
            if read_as:
                parent.texts[len(parent)] = text
            parent.append(value)
            parent.item_marks.append(mark)
            continue
        key, key_mark = keys[-1]
        if key is _NO_KEY:
            if cls is ScalarEvent and tag == _MERGE and not explicit:
                raise InputError("merge keys (<<) are not supported; write the keys out", mark)
            if value in parent:
                first = parent.key_marks[value].line
                soft.append(
                    InputError(f'duplicate key "{value}" (first defined at line {first})', mark))
                keys[-1] = (_DUPLICATE, mark)  # its value is read and dropped
            else:
                keys[-1] = (value, mark)
        elif key is _DUPLICATE:
            keys[-1] = (_NO_KEY, None)
        else:
            if read_as:
                parent.texts[key] = text
            parent[key] = value
            parent.key_marks[key] = key_mark
            parent.value_marks[key] = mark
            keys[-1] = (_NO_KEY, None)


class _NoKey:
    """Sentinel: the open mapping is waiting for a key."""


_NO_KEY = _NoKey()
_DUPLICATE = _NoKey()  # the open mapping's pending key repeats an earlier one


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "nothing (null)"
    return "a number"

