"""The compiled yes/no schema check: a valid file (nearly all of them) stops here; an
invalid one goes through jsonschema for the exact errors (reconciler/schema.py).

jsonschema walks a 50-user file in ~4 ms. This check is generated Python source, one
function per schema node, each keyword a line or two of plain comparisons (no closure per
keyword, no generator per object), compiled once per process. It supports exactly the
keywords our schemas use and refuses others, so it cannot silently accept what jsonschema
would refuse (tests/test_schema.py compares the two over mutated files).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from reconciler.pattern import pattern_search

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    (
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "title",
        "description",
        "default",
        "patternErrorMessage",
    )
)
#: each JSON type as a Python condition on ``v`` (an integer is never a bool: a count
#: written ``true`` is a mistake, and jsonschema is told the same in schema.py)
_TYPE_TESTS = {
    "integer": "(isinstance(v, int) and v.__class__ is not bool)",
    "number": "(isinstance(v, (int, float)) and v.__class__ is not bool)",
    "string": "isinstance(v, str)",
    "boolean": "v.__class__ is bool",
    "object": "isinstance(v, dict)",
    "array": "isinstance(v, list)",
    "null": "v is None",
}
_NUMBER = _TYPE_TESTS["number"]
#: a schema of only these is checked in place of a call (reconciler's scalar fields)
_LEAF_KEYWORDS = frozenset(
    ("type", "enum", "pattern", "minLength", "minimum", "maximum", "exclusiveMinimum"))
#: the checked value in a keyword's generated lines
_V = re.compile(r"\bv\b")


@functools.cache
def fast_check(name: str) -> Check:
    """The compiled check of ``schemas/<name>.schema.json``."""
    from reconciler.schema import load_schema

    root = load_schema(name)
    return compile_check(root, root)


def compile_check(node: Any, root: dict[str, Any]) -> Check:
    """The check of schema ``node`` (its ``$ref``s resolved in ``root``); ValueError for a
    keyword it does not support."""
    unit = _Unit(root)
    name = unit.function(node)
    namespace: dict[str, Any] = dict(unit.constants)
    exec(compile("\n".join(unit.lines), "<schema check>", "exec"), namespace)  # noqa: S102
    check: Check = namespace[name]
    return check


def _unique(items: list[Any]) -> bool:
    try:
        return len(set(items)) == len(items)
    except TypeError:  # unhashable items: let jsonschema decide
        return False


class _Unit:
    """The source being generated: a function per schema node, named constants."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.lines: list[str] = []
        self.constants: dict[str, Any] = {"_unique": _unique}
        self.refs: dict[str, str] = {}  # "#/$defs/x" -> its function's name
        self.count = 0

    def constant(self, value: Any) -> str:
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name

    def function(self, node: Any) -> str:
        self.count += 1
        name = f"_f{self.count}"
        if node is True or node is False:
            self.lines += [f"def {name}(v):", f"    return {node}"]
            return name
        body: list[str] = []
        for keyword, arg in node.items():
            if keyword in _ANNOTATIONS or keyword.startswith("x-"):
                continue
            body += self.keyword(keyword, arg, node)
        self.lines += [f"def {name}(v):", *(f"    {line}" for line in body), "    return True"]
        return name

    def leaf(self, node: Any) -> list[str] | None:
        """The checks of a schema of one scalar (type, enum, pattern, bounds) on ``x``,
        to be written in place; None for any other schema."""
        if not isinstance(node, dict):
            return None
        body: list[str] = []
        for keyword, arg in node.items():
            if keyword in _ANNOTATIONS or keyword.startswith("x-"):
                continue
            if keyword not in _LEAF_KEYWORDS:
                return None
            body += [_V.sub("x", line) for line in self.keyword(keyword, arg, node)]
        return body

    def keyword(self, keyword: str, arg: Any, node: dict[str, Any]) -> list[str]:
        if keyword == "type":
            kinds = [arg] if isinstance(arg, str) else list(arg)
            tests = [_TYPE_TESTS[k] for k in kinds]
            return [f"if not ({' or '.join(tests)}): return False"]
        if keyword == "properties":
            lines = ["if isinstance(v, dict):"]
            for key, sub in arg.items():
                if sub is True:
                    continue
                k = self.constant(key)
                inline = self.leaf(sub)
                if inline is not None:  # checked in place: no call per field of 50k users
                    lines += [f"    if {k} in v:", f"        x = v[{k}]",
                              *(f"        {line}" for line in inline)]
                    continue
                fn = self.function(sub)
                lines += [f"    if {k} in v and not {fn}(v[{k}]): return False"]
            return lines if len(lines) > 1 else []
        if keyword == "additionalProperties":
            if arg is True:
                return []
            known = self.constant(frozenset(node.get("properties", ())))
            if arg is False:
                return ["if isinstance(v, dict):",
                        "    for k in v:",
                        f"        if k not in {known}: return False"]
            fn = self.function(arg)
            return ["if isinstance(v, dict):",
                    "    for k, x in v.items():",
                    f"        if k not in {known} and not {fn}(x): return False"]
        if keyword == "required":
            if not arg:
                return []
            present = " and ".join(f"{self.constant(k)} in v" for k in arg)
            return [f"if isinstance(v, dict) and not ({present}): return False"]
        if keyword == "items":
            if arg is True:
                return []
            fn = self.function(arg)
            return ["if isinstance(v, list):",
                    "    for x in v:",
                    f"        if not {fn}(x): return False"]
        if keyword == "enum":
            choices = self.constant(tuple(arg))
            return [f"if not (isinstance(v, str) and v in {choices}): return False"]
        if keyword == "pattern":
            search = self.constant(pattern_search(arg))
            return [f"if isinstance(v, str) and {search}(v) is None: return False"]
        if keyword == "minLength":
            return [f"if isinstance(v, str) and not (len(v) >= {self.constant(arg)}): "
                    "return False"]
        if keyword == "minProperties":
            return [f"if isinstance(v, dict) and not (len(v) >= {self.constant(arg)}): "
                    "return False"]
        if keyword in ("minimum", "maximum", "exclusiveMinimum"):
            op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">"}[keyword]
            return [f"if {_NUMBER} and not (v {op} {self.constant(arg)}): return False"]
        if keyword == "uniqueItems":
            return ["if isinstance(v, list) and not _unique(v): return False"] if arg else []
        if keyword == "$ref":
            return [f"if not {self.ref(arg)}(v): return False"]
        raise ValueError(f"schema keyword {keyword!r} is not supported by the fast check")

    def ref(self, ref: str) -> str:
        if not ref.startswith("#/$defs/"):
            raise ValueError(f"only local $defs references are supported, not {ref!r}")
        if ref not in self.refs:
            # named before it is compiled: a recursive schema calls it by name
            self.refs[ref] = name = f"_ref{len(self.refs)}"
            fn = self.function(self.root["$defs"][ref[len("#/$defs/"):]])
            self.lines += [f"{name} = {fn}"]
        return self.refs[ref]
