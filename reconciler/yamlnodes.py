"""The loader's nodes and scalars: :class:`MarkedDict` / :class:`MarkedList` (values that
remember where they were written) and the YAML 1.1 reading of a scalar, shared by the
event-based loader (reconciler.yamlload) and its fast path (reconciler.yamlfast)."""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from reconciler.errors import InputError
from reconciler.model import Mark

_YAML = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (_YAML + t for t in ("str", "null", "bool", "int", "float"))
_MERGE, _TIMESTAMP, _VALUE = _YAML + "merge", _YAML + "timestamp", _YAML + "value"
_AS_STR = (_TIMESTAMP, _VALUE, _MERGE)  # implicit only; explicit ones are refused
_SCALAR_TAGS = frozenset((_STR, _NULL, _BOOL, _INT, _FLOAT))
_CONSTRUCTOR = SafeConstructor()
_BOOLS = SafeConstructor.bool_values

#: the first characters of every YAML 1.1 implicit resolver (bool, int, float, null,
#: timestamp, merge, value): a plain scalar starting with anything else is a string, which
#: is most of an account file (names, e-mail addresses), without the resolver's regexes
RESOLVED_FIRST = frozenset(
    ch for ch in yaml.resolver.Resolver.yaml_implicit_resolvers if ch is not None
)
_RESOLVER = yaml.resolver.Resolver()



class MarkedDict(dict[Any, Any]):
    """A mapping: ``.mark`` where it starts, ``.key_marks[k]`` / ``.value_marks[k]``;
    ``.texts[k]``: the source text of a value YAML read as a boolean or a number (``yes``,
    ``0102``), so that advice can quote what the user wrote."""

    __slots__ = ("mark", "key_marks", "value_marks", "texts")

    def __init__(self, *args: Any, mark: Mark | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mark = mark
        self.key_marks: dict[Any, Mark] = {}
        self.value_marks: dict[Any, Mark] = {}
        self.texts: dict[Any, str] = {}


class MarkedList(list[Any]):
    """A sequence: ``.mark`` where it starts, ``.item_marks[i]`` where item ``i`` starts;
    ``.texts[i]`` as for :class:`MarkedDict`."""

    __slots__ = ("mark", "item_marks", "texts")

    def __init__(self, *args: Any, mark: Mark | None = None) -> None:
        super().__init__(*args)
        self.mark = mark
        self.item_marks: list[Mark] = []
        self.texts: dict[int, str] = {}


def plain_scalar(text: str, mark: Mark, soft: list[InputError]) -> Any:
    """The value of an untagged plain scalar (YAML 1.1 as PyYAML's SafeLoader, dates left
    as text); refusals raise, integers YAML 1.1 would change go to ``soft``."""
    # fast path for the commonest scalar, a plain decimal (extensions, counts): same
    # result as the YAML 1.1 int resolver, a fraction of its cost
    if text.isdigit() and text.isascii() and (text[0] != "0" or text == "0"):
        return int(text)
    if text and text[0] not in RESOLVED_FIRST:
        return text  # no implicit resolver starts with this character
    return scalar_value(_RESOLVER.resolve(yaml.ScalarNode, text, (True, False)), text, False, mark,
                   soft)


def plain_tag(text: str) -> str | None:
    """The tag YAML 1.1 gives an untagged plain scalar, None for a string."""
    if text and text[0] not in RESOLVED_FIRST:
        return None
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    return None if tag == _STR else tag


def scalar_value(tag: str, value: str, explicit: bool, mark: Mark, soft: list[InputError]) -> Any:
    if tag == _STR or (not explicit and tag in _AS_STR):
        return value
    if tag not in _SCALAR_TAGS:
        raise InputError(f"tag {tag_text(tag)} is not allowed", mark)
    try:
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return _BOOLS[value.lower()]
        node = yaml.ScalarNode(tag, value)
        if tag == _INT:
            number = _CONSTRUCTOR.construct_yaml_int(node)
            if not explicit and not _DECIMAL.match(value):
                soft.append(InputError(_surprising_int(value, number), mark))
            return number
        return _CONSTRUCTOR.construct_yaml_float(node)
    except (ValueError, KeyError, IndexError):
        raise InputError(f"{value!r} is not a valid {tag[len(_YAML) :]}", mark) from None


_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)\Z")


def _surprising_int(text: str, number: int) -> str:
    """YAML 1.1 reads 01001 as octal 513, 0x65 and 1_01 as 101, 1:40 as 100 (base 60):
    never what an extension or a count in an account file means."""
    if text.lstrip("+-").startswith("0") and text.lstrip("+-")[1:2].isdigit():
        plain = text.lstrip("+-0").replace("_", "") or "0"
        return (f'"{text}" is an octal number in YAML ({number}); write {plain}, '
                "or quote it if it is text")
    return (f'"{text}" is read by YAML as the number {number}; write a plain decimal '
            "number, or quote it if it is text")


def tag_text(tag: str | None) -> str:
    return "!!" + tag[len(_YAML) :] if tag and tag.startswith(_YAML) else str(tag)


