"""reconciler.yamlload: marks on every node, one-line refusals, never a hang or traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

import reconciler.yamlload as yamlload
from reconciler.errors import InputError
from reconciler.model import Mark
from reconciler.yamlload import MarkedDict, MarkedList, load_yaml, loads_yaml, mark_at

NAME = "accounts/acme.yaml"


_CLoader = getattr(yaml, "CSafeLoader", None)


class _LibyamlWithItsOwnLimit(_CLoader or yaml.SafeLoader):  # type: ignore[misc]
    """libyaml as its releases differ: 0.2.6 (PyYAML 6.0.4's wheels) refuses deep nesting
    itself, in its own words, and its scanner reads ahead of the events we count; here the
    limit is below ours, so whatever a future libyaml does, the refusal must stay ours."""

    LIMIT = 40

    def get_event(self):  # type: ignore[no-untyped-def]
        event = super().get_event()
        depth = getattr(self, "_depth", 0)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > self.LIMIT:
                raise yaml.scanner.ScannerError(
                    "while increasing flow level", None, "exceeded maximum nesting depth",
                    event.start_mark)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        self._depth = depth
        return event


@pytest.fixture(autouse=True, params=["libyaml", "pure-python", "libyaml-own-limit"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run every test with the C parser (where installed), with the pure-Python one, and
    with a libyaml that has a nesting limit of its own: every line must be the same."""
    if request.param == "pure-python":
        monkeypatch.setattr(yamlload, "_Loader", yaml.SafeLoader)
        monkeypatch.setattr(yamlload, "_C_PARSER", False)
    elif request.param == "libyaml-own-limit":
        monkeypatch.setattr(yamlload, "_Loader", _LibyamlWithItsOwnLimit)
        monkeypatch.setattr(yamlload, "_C_PARSER", True)
    elif _CLoader is None:
        pytest.skip("libyaml is not installed")
    return str(request.param)


@pytest.fixture(autouse=True, params=["fast-path", "no-fast-path"])
def fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """And each of them with the fast path for plain block-style files (reconciler.yamlfast)
    and without it: every value, mark and line must be the same."""
    on = request.param == "fast-path"
    monkeypatch.setattr(yamlload, "FAST_PATH", on)
    return on


def refuse(tmp_path: Path, content: str | bytes, filename: str = "acme.yaml", **kw: bool) -> str:
    """Load ``content`` from a file, expect an InputError within 2 s, return its one line."""
    path = tmp_path / filename
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    start = time.monotonic()
    with pytest.raises(InputError) as info:
        load_yaml(path, display_name=NAME, **kw)
    assert time.monotonic() - start < 2
    message = str(info.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- refusals


def test_tab_indentation(tmp_path: Path) -> None:
    msg = refuse(tmp_path, "users:\n  - extension: 101\n\t  name: Ann\n")
    assert msg == f"{NAME}:3:1: tab characters are not allowed for indentation; use spaces"


def test_unclosed_quote_points_at_the_opening_quote(tmp_path: Path) -> None:
    msg = refuse(tmp_path, 'name: Acme\ncaller_id: "+44 20\nsite: main\n')
    assert msg == (
        f"{NAME}:2:12: unclosed quoted string; "
        "add the closing quote (the same kind as the opening one)"
    )


def test_other_syntax_error_is_one_plain_line(tmp_path: Path) -> None:
    msg = refuse(tmp_path, "name: Acme\nnote: a: b\n")
    assert msg == (
        f"{NAME}:2:8: unexpected ':' (a value containing ': ' must be quoted; "
        "or check the indentation)"
    )


@pytest.mark.parametrize(("text", "where", "opening", "closing"), [
    ("name: Acme\nusers: [\n", "2:8", "[", "]"),
    ("name: Acme\nusers: {\n", "2:8", "{", "}"),
    ("users: [\n  {extension: 1},\n  {extension: 2\n", "3:3", "{", "}"),
    ("name: 'a [b'\nnote: x  # [\nusers: [1, 2\n", "3:8", "[", "]"),
])
def test_a_bracket_left_open_at_the_end_points_at_it(
    tmp_path: Path, text: str, where: str, opening: str, closing: str
) -> None:
    line = where.split(":")[0]
    assert refuse(tmp_path, text) == (
        f'{NAME}:{where}: unclosed "{opening}" (opened at line {line}): close it with "{closing}"'
    )


def test_a_list_item_indented_unlike_the_others(tmp_path: Path) -> None:
    msg = refuse(tmp_path, "users:\n  - extension: 1\n    name: x\n   - extension: 2\n")
    assert msg == (
        f"{NAME}:4:4: this line's indentation does not match the list above it (line 2); "
        "indent list items alike"
    )


def test_duplicate_key_points_at_second_occurrence(tmp_path: Path) -> None:
    lines = ["name: Acme", "users:"] + [f"  - extension: {100 + i}" for i in range(7)]
    lines += ["  - name: Ann", "    site: main", "    extension: 120", "    extension: 121"]
    assert lines[11] == "    extension: 120"  # line 12
    msg = refuse(tmp_path, "\n".join(lines) + "\n")
    assert msg == f'{NAME}:13:5: duplicate key "extension" (first defined at line 12)'


def test_alias_is_refused_at_the_alias(tmp_path: Path) -> None:
    msg = refuse(tmp_path, "defaults: &d {site: main}\nusers:\n  - *d\n")
    assert msg == f"{NAME}:3:5: anchors and aliases (&/*) are not supported in account files"


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    msg = refuse(tmp_path, "\n".join(lines) + "\n")
    assert msg == f"{NAME}:2:8: anchors and aliases (&/*) are not supported in account files"


def test_deep_flow_nesting(tmp_path: Path) -> None:
    msg = refuse(tmp_path, "a: " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert msg == f"{NAME}:1:67: nesting deeper than 64 levels"


def test_deep_block_nesting(tmp_path: Path) -> None:
    text = "".join(" " * i + f"k{i}:\n" for i in range(10_000))
    msg = refuse(tmp_path, text)
    assert msg == f"{NAME}:65:65: nesting deeper than 64 levels"


def test_64_levels_are_fine() -> None:
    data = loads_yaml("a: " + "[" * 63 + "1" + "]" * 63)
    for _ in range(64):
        data = data[0] if isinstance(data, list) else data["a"]
    assert data == 1


def test_invalid_utf8(tmp_path: Path) -> None:
    msg = refuse(tmp_path, "name: Acme\nsite: caf\u00e9 \xff\n".encode("latin-1"))
    assert msg == f"{NAME}:2:10: file is not valid UTF-8 (byte 0xe9)"
    msg = refuse(tmp_path, b"name: Acme\nsite: caf\xc3\xa9 \xff\n")
    assert msg == f"{NAME}:2:12: file is not valid UTF-8 (byte 0xff)"


def test_utf8_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: Caf\xc3\xa9\n")
    assert load_yaml(path) == {"name": "Caf\u00e9"}


def test_control_character(tmp_path: Path) -> None:
    msg = refuse(tmp_path, "name: Caf\u00e9\x07\n")
    assert msg == f"{NAME}:1:11: control character U+0007 is not allowed; remove it"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!!python/object/apply:os.system [ls]", "!!python/object/apply:os.system"),
        ("!foo bar", "!foo"),
        ("!!timestamp 2024-05-01", "!!timestamp"),
        ("!!set {a}", "!!set"),
        ("!!binary aGk=", "!!binary"),
    ],
)
def test_tags_are_refused(tmp_path: Path, value: str, shown: str) -> None:
    msg = refuse(tmp_path, f"name: Acme\nx: {value}\n")
    assert msg == f"{NAME}:2:4: tag {shown} is not allowed"


def test_standard_tags_are_fine() -> None:
    assert loads_yaml("a: !!str 12\nb: !!int '7'\nc: !!float 1\n") == {"a": "12", "b": 7, "c": 1.0}
    with pytest.raises(InputError, match=r"^<string>:1:4: 'x' is not a valid int$"):
        loads_yaml("a: !!int x\n")


def test_merge_key(tmp_path: Path) -> None:
    msg = refuse(tmp_path, "users:\n  - <<: {site: main}\n    extension: 101\n")
    assert msg == f"{NAME}:2:5: merge keys (<<) are not supported; write the keys out"


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    assert refuse(tmp_path, content) == f"{NAME}:1:1: file is empty"


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    msg = refuse(tmp_path, "- a\n- b\n")
    assert msg == f"{NAME}:1:1: top level must be a mapping (key: value), found a list"
    path = tmp_path / "list.yaml"
    path.write_text("- a\n")
    assert load_yaml(path, expect_mapping=False) == ["a"]


def test_more_than_one_document(tmp_path: Path) -> None:
    msg = refuse(tmp_path, "a: 1\n---\nb: 2\n")
    assert msg == f"{NAME}:2:1: more than one YAML document in the file; remove the extra '---'"


def test_collection_as_key(tmp_path: Path) -> None:
    msg = refuse(tmp_path, "? [a, b]\n: 1\n")
    assert msg == f"{NAME}:1:3: a mapping key must be a plain value, not a list"


def test_suffix(tmp_path: Path) -> None:
    msg = refuse(tmp_path, "a: 1\n", filename="acme.json")
    assert msg == f"{NAME}: not a YAML file (expected .yaml or .yml)"
    path = tmp_path / "acme.txt"
    path.write_text("a: 1\n")
    assert load_yaml(path, require_yaml_suffix=False) == {"a": 1}
    (tmp_path / "acme.YML").write_text("a: 1\n")
    assert load_yaml(tmp_path / "acme.YML") == {"a": 1}


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_yaml(tmp_path / "nope.yaml", display_name="accounts/nope.yaml")
    assert str(info.value) == "accounts/nope.yaml: file not found"
    assert info.value.mark is None


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(InputError) as info:
        load_yaml(tmp_path / "dir.yaml", display_name="dir.yaml")
    assert str(info.value) == "dir.yaml: is a directory, not a YAML file"


def test_display_name_defaults_to_path_as_given(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text("a: 1\na: 2\n")
    with pytest.raises(InputError) as info:
        load_yaml(str(path))
    assert str(info.value) == f'{path}:2:1: duplicate key "a" (first defined at line 1)'


# --------------------------------------------------------------------------- values and marks

ACCOUNT = """\
# Acme Ltd
name: Acme Ltd
external_id: "0123"
policy:
  prune: true
  max_monthly_increase: 100.50
users:
  - extension: 101
    add_ons: [voicemail, recording]
    trial_ends: 2024-05-01
  - extension: 102
    absent: yes
    caller_id: ~
"""


def test_values_are_plain_python() -> None:
    data = loads_yaml(ACCOUNT, NAME)
    assert data == {
        "name": "Acme Ltd",
        "external_id": "0123",  # quoted: stays a string
        "policy": {"prune": True, "max_monthly_increase": 100.5},
        "users": [
            {"extension": 101, "add_ons": ["voicemail", "recording"], "trial_ends": "2024-05-01"},
            # YAML 1.1, as PyYAML's SafeLoader: yes/no/on/off are booleans (an octal
            # 0102 is refused: see test_integers_yaml_1_1_would_silently_change_are_refused)
            {"extension": 102, "absent": True, "caller_id": None},
        ],
    }
    assert type(data["users"][0]["extension"]) is int
    assert type(data["users"][0]["trial_ends"]) is str  # dates are not converted
    assert isinstance(data, MarkedDict) and isinstance(data, dict)
    assert isinstance(data["users"], MarkedList) and isinstance(data["users"], list)
    assert loads_yaml("on: 1\n") == {True: 1}  # the YAML 1.1 gotcha: quote such keys


def test_marks_of_nested_keys_values_and_items() -> None:
    data = loads_yaml(ACCOUNT, NAME)
    assert data.mark == Mark(NAME, 2, 1)
    assert data.key_marks["name"] == Mark(NAME, 2, 1)
    assert data.value_marks["name"] == Mark(NAME, 2, 7)
    assert data.value_marks["external_id"] == Mark(NAME, 3, 14)
    policy = data["policy"]
    assert data.value_marks["policy"] == policy.mark == Mark(NAME, 5, 3)
    assert policy.key_marks["max_monthly_increase"] == Mark(NAME, 6, 3)
    assert policy.value_marks["max_monthly_increase"] == Mark(NAME, 6, 25)
    users = data["users"]
    assert users.mark == Mark(NAME, 8, 3)
    assert users.item_marks == [Mark(NAME, 8, 5), Mark(NAME, 11, 5)]
    assert users[1].key_marks["absent"] == Mark(NAME, 12, 5)
    assert users[1].value_marks["absent"] == Mark(NAME, 12, 13)
    add_ons = users[0]["add_ons"]
    assert add_ons.mark == Mark(NAME, 9, 14)
    assert add_ons.item_marks == [Mark(NAME, 9, 15), Mark(NAME, 9, 26)]
    assert str(add_ons.item_marks[1]) == f"{NAME}:9:26"


def test_columns_count_characters_not_bytes() -> None:
    data = loads_yaml("caf\u00e9: \u00fc\u00fc\n\u00fc: [a, b]\n", NAME)
    assert data.value_marks["caf\u00e9"] == Mark(NAME, 1, 7)
    assert data["\u00fc"].item_marks == [Mark(NAME, 2, 5), Mark(NAME, 2, 8)]


def test_mark_at() -> None:
    data = loads_yaml(ACCOUNT, NAME)
    assert mark_at(data, []) == Mark(NAME, 2, 1)
    assert mark_at(data, ["users", 1, "absent"]) == Mark(NAME, 12, 13)
    assert mark_at(data, ["users", 1, "absent"], key=True) == Mark(NAME, 12, 5)
    assert mark_at(data, ["users", 0, "add_ons", 1]) == Mark(NAME, 9, 26)
    assert mark_at(data, ["users", 0, "add_ons", 1], key=True) == Mark(NAME, 9, 26)
    # the deepest node that exists
    assert mark_at(data, ["users", 1, "nope"], key=True) == Mark(NAME, 11, 5)
    assert mark_at(data, ["users", 7, "extension"]) == Mark(NAME, 8, 3)
    assert mark_at(data, ["policy", "prune", "deeper"]) == Mark(NAME, 5, 10)
    assert mark_at({"plain": "dict"}, ["plain"]) is None
    assert mark_at("scalar", []) is None


def test_loads_yaml_accepts_bytes_and_str() -> None:
    assert loads_yaml(b"a: 1\n") == loads_yaml("a: 1\n") == {"a": 1}
    with pytest.raises(InputError, match=r"^x\.yaml:1:4: file is not valid UTF-8 \(byte 0xff\)$"):
        loads_yaml(b"a: \xff\n", "x.yaml")


def test_backslash_in_double_quotes(tmp_path: Path, parser: str) -> None:
    msg = refuse(tmp_path, 'path: "C:\\qfiles"\n')
    col = 11 if parser == "pure-python" else 10  # at the backslash, or just after it
    assert msg == (
        f"{NAME}:1:{col}: unknown escape (\\) in a double-quoted string; "
        "use single quotes or write \\\\"
    )


@pytest.mark.parametrize("text", ["0", "7", "297", "+12", "-3", "0297", "1.5",
                                  "123456789012345678901234567890", "１２"])
def test_plain_numbers_load_as_yaml_1_1_says(text: str) -> None:
    assert loads_yaml(f"n: {text}\n") == yaml.safe_load(f"n: {text}\n")


@pytest.mark.parametrize("text, message", [
    ("01001", '"01001" is an octal number in YAML (513); write 1001, or quote it if it is text'),
    ("0x65", '"0x65" is read by YAML as the number 101; write a plain decimal number, '
             "or quote it if it is text"),
    ("1_01", '"1_01" is read by YAML as the number 101; write a plain decimal number, '
             "or quote it if it is text"),
    ("1:40", '"1:40" is read by YAML as the number 100; write a plain decimal number, '
             "or quote it if it is text"),
])
def test_integers_yaml_1_1_would_silently_change_are_refused(text: str, message: str) -> None:
    with pytest.raises(InputError) as e:
        loads_yaml(f"account: x\nextension: {text}\n", "a.yaml")
    assert str(e.value) == f"a.yaml:2:12: {message}"
