"""reconciler.yamlfast, the loader's fast path, against the full (event-based) loader: over
generated block-style documents and their mutations (a character, a line, an indentation
changed), both must give the same values of the same types, the same marks (line:col) of
every key, value and item, the same ``.texts``, and the same errors and soft errors.
(tests/test_yamlload.py also runs every loader test with and without the fast path.)"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from reconciler import yamlfast, yamlload
from reconciler.errors import InputError
from reconciler.yamlload import MarkedDict, MarkedList, loads_yaml

REPO = Path(__file__).resolve().parent.parent


def shape(node: Any) -> Any:
    """Everything the loader's result says: values and their types, marks, texts, order."""
    if isinstance(node, MarkedDict):
        return ("map", node.mark, [
            (shape(k), node.key_marks[k], node.value_marks[k], node.texts.get(k), shape(v))
            for k, v in node.items()], len(node.texts))
    if isinstance(node, MarkedList):
        return ("seq", node.mark, [(m, node.texts.get(i), shape(v)) for i, (v, m)
                                   in enumerate(zip(node, node.item_marks, strict=True))],
                len(node.texts))
    if isinstance(node, float) and math.isnan(node):
        return ("float", "nan")
    return (type(node).__name__, node)


def outcome(text: str, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """What loading ``text`` gives, with or without the fast path."""
    monkeypatch.setattr(yamlload, "FAST_PATH", fast)
    soft: list[InputError] = []
    try:
        value = loads_yaml(text, "accounts/x.yaml", soft_errors=soft)
    except InputError as e:
        return ("error", str(e), [str(s) for s in soft])
    return ("ok", shape(value), [str(s) for s in soft])


def same(text: str) -> bool:
    """Both paths agree on ``text``; True when the fast path read it itself."""
    with pytest.MonkeyPatch.context() as mp:
        fast = outcome(text, True, mp)
        slow = outcome(text, False, mp)
    assert fast == slow, text
    took = yamlfast.fast_parse(text, "accounts/x.yaml") is not None
    if took:
        assert slow[0] == "ok" and slow[2] == []  # the fast path never reads a refusal
    return took


# --------------------------------------------------------------------------- documents

_WORDS = ["name", "extension", "email", "profile", "add_ons", "site", "licence", "users",
          "Main", "C2TU25", "Basic User With VM", "a b", "x-y", "on", "no", "yes", "null",
          "true", "1", "0123", "12", "1.5", "~", "2024-05-01", "<<", "=", "é", "Zoë Ünal",
          "http://x.y/z", "a#b", "a:b", "-3", "+5", "0x1f", "1_0", ".5", "1e3", "-", "?x",
          ":x", "a'b", 'a"b', "a [b]", "a, b", "u1x2@example.com", "NaN", ".inf", "O'Neil"]
_SAFE_KEYS = st.sampled_from(_WORDS[:12] + ["kind", "account", "platform", "external_id"])
_ANY_KEYS = _SAFE_KEYS | st.sampled_from(_WORDS)
_SAFE_PLAIN = st.sampled_from([w for w in _WORDS if w not in ("0123", "0x1f", "1_0", "-")])
_ANY_PLAIN = _SAFE_PLAIN | st.sampled_from(_WORDS) | st.text(
    st.sampled_from("abcz019 -_.@:#'\"é"), min_size=1, max_size=8)


def _vocabulary(safe: bool) -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    """(keys, scalars): mostly what the fast path reads (safe), or anything."""
    return (_SAFE_KEYS, _SAFE_PLAIN) if safe else (_ANY_KEYS, _ANY_PLAIN)


@st.composite
def scalar_text(draw: st.DrawFn, safe: bool) -> str:
    """A scalar as it may be written after ``key: `` or ``- ``."""
    word = draw(_vocabulary(safe)[1])
    style = draw(st.sampled_from(["plain", "plain", "plain", "double", "single", "comment"]))
    if style == "double":
        return '"' + word + '"'
    if style == "single":
        return "'" + word + "'"
    if style == "comment":
        return word + draw(st.sampled_from([" # c", "  #x: y", "#c", " #"]))
    return word


@st.composite
def flow_text(draw: st.DrawFn, safe: bool) -> str:
    keys_, plain = _vocabulary(safe)
    items = draw(st.lists(plain, max_size=3))
    if draw(st.booleans()):
        return "[" + draw(st.sampled_from([", ", ",", " , "])).join(items) + "]"
    keys = draw(st.lists(keys_, max_size=3))
    pairs = [f"{k}: {v}" for k, v in zip(keys, items, strict=False)]
    return "{" + ", ".join(pairs) + "}"


def tree(safe: bool, depth: int = 0) -> st.SearchStrategy[Any]:
    leaf = scalar_text(safe) | flow_text(safe)
    if depth >= 3:
        return leaf
    return st.one_of(
        leaf, leaf,
        st.lists(st.tuples(_vocabulary(safe)[0], st.deferred(lambda: tree(safe, depth + 1))),
                 min_size=1, max_size=4, unique_by=(lambda kv: kv[0]) if safe else None)
        .map(lambda kv: ("map", kv)),
        st.lists(st.deferred(lambda: tree(safe, depth + 1)), min_size=1, max_size=3)
        .map(lambda items: ("seq", items)),
    )


@st.composite
def document(draw: st.DrawFn, safe: bool = False) -> str:
    """A block-style mapping, written with varied indentation, comments and blank lines."""
    step = draw(st.integers(1, 4))
    out: list[str] = []

    def noise(indent: int) -> None:
        pick = draw(st.integers(0, 12))
        if pick == 0:
            out.append("")
        elif pick == 1:
            out.append(" " * draw(st.integers(0, 6)) + "# note")
        elif pick == 2:
            out.append(" " * indent)

    def write(node: Any, indent: int, lead: str) -> None:
        """``node`` after ``lead`` (``key:`` or ``-``) on a line indented ``indent``."""
        if isinstance(node, str):
            gap = " " * draw(st.integers(1, 2))
            trail = " " * draw(st.integers(0, 1))
            out.append(" " * indent + lead + gap + node + trail)
            return
        kind, body = node
        comment = draw(st.sampled_from(["", "", " # c"]))
        out.append(" " * indent + lead + comment)
        if kind == "map":
            inner = indent + step
            for key, value in body:
                noise(inner)
                write(value, inner, key + ":")
        else:
            inner = indent + (0 if lead != "-" and draw(st.booleans()) else step)
            for item in body:
                noise(inner)
                if isinstance(item, tuple) and item[0] == "map" and (safe or draw(st.booleans())):
                    # ``- key: value`` with the mapping's other keys under the first
                    first, *others = item[1]
                    gap = draw(st.integers(1, 3))
                    mark = len(out)
                    write(first[1], inner + 1 + gap, first[0] + ":")
                    line = out[mark]
                    out[mark] = " " * inner + "-" + " " * gap + line[inner + 1 + gap:]
                    for key, value in others:
                        write(value, inner + 1 + gap, key + ":")
                else:
                    write(item, inner, "-")

    top = draw(st.lists(st.tuples(_vocabulary(safe)[0], tree(safe)), min_size=1, max_size=5,
                        unique_by=(lambda kv: kv[0]) if safe else None))
    for key, value in top:
        noise(0)
        write(value, 0, key + ":")
    return "\n".join(out) + draw(st.sampled_from(["\n", "", "\n\n"]))


_ODD = ["\t", "#", ":", '"', "'", "\\", "&", "*", "!", "|", ">", "-", "?", "[", "]", "{",
        "}", ",", "%", "@", "`", " ", "  ", "\n", "\n  ", "\r", "\ufeff", "é", "\u2028",
        "\x85", "\x00", "\xa0", "---\n", "...", "<<: ", "- ", ": ", " #", "~"]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(document(safe=draw(st.booleans())))
    for _ in range(draw(st.integers(0, 2))):
        how = draw(st.sampled_from(["insert", "delete", "indent", "dedent", "repeat"]))
        lines = text.split("\n")
        at = draw(st.integers(0, len(lines) - 1))
        if how == "insert":
            pos = draw(st.integers(0, len(text)))
            text = text[:pos] + draw(st.sampled_from(_ODD)) + text[pos:]
            continue
        if how == "delete" and text:
            pos = draw(st.integers(0, len(text) - 1))
            text = text[:pos] + text[pos + 1:]
            continue
        if how == "indent":
            lines[at] = " " * draw(st.integers(1, 3)) + lines[at]
        elif how == "dedent":
            lines[at] = lines[at][draw(st.integers(1, 3)):]
        else:
            lines.insert(at, lines[at])
        text = "\n".join(lines)
    return text


@settings(max_examples=400)
@given(document(safe=True) | document())
def test_generated_documents_read_the_same(text: str) -> None:
    event("fast path" if same(text) else "full loader")


@settings(max_examples=600)
@given(mutated())
def test_mutated_documents_read_or_fail_the_same(text: str) -> None:
    event("fast path" if same(text) else "full loader")


# --------------------------------------------------------------------------- files


def _yaml_files() -> list[Path]:
    found = [*REPO.glob("accounts/*.y*ml"), *REPO.glob("docs/**/*.y*ml"),
             *REPO.glob("tests/**/*.y*ml")]
    return sorted(p for p in found if ".venv" not in p.parts)


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_yaml_file_in_the_repository_reads_the_same(path: Path) -> None:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8 (a loader test of its own)")
    same(text)


ACCOUNT = """\
# Acme Ltd, as the benchmark and most partners write an account file
account: acme
platform: ipecs-cloud
external_id: "C000000150"   # the platform's id
name: Acme Ltd
sites:
  Main: {extensions: "100-9999"}
licences:
  Basic User With VM: 12
users:
  - extension: 101
    name: Zoë Ünal
    email: zoe@example.com
    profile: Basic User With VM
    add_ons: []
    site: Main

  - extension: 102
    name: O'Neil
    add_ons: [voicemail, recording]
    absent: yes
"""


def test_plain_account_files_take_the_fast_path() -> None:
    """The point of it: the account files partners write, and the demo's, are read by the
    fast path (a change that sends them all to the full loader would still pass the
    comparisons above)."""
    assert same(ACCOUNT)
    for path in sorted(REPO.glob("accounts/*.yaml")):
        assert yamlfast.fast_parse(path.read_text("utf-8"), path.name) is not None, path
    data = loads_yaml(ACCOUNT, "a.yaml")
    assert data["users"][1].texts == {"extension": "102", "absent": "yes"}
    assert data["sites"]["Main"].value_marks["extensions"] == ("a.yaml", 7, 22)
