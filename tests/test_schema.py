"""The JSON Schemas (editor-ready, strict) and reconciler.schema's plain-language errors."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from reconciler.errors import ValidationFailed
from reconciler.schema import _fast_check, _validator, check, load_document, load_schema
from reconciler.yamlload import load_yaml, loads_yaml

REPO = Path(__file__).parent.parent
SCHEMAS = ("account", "pricebook", "config")


def nodes(schema: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every sub-schema with its JSON pointer."""
    if isinstance(schema, dict):
        yield path, schema
        for key, value in schema.items():
            if isinstance(value, dict) and key in ("properties", "$defs"):
                for name, sub in value.items():
                    yield from nodes(sub, f"{path}/{key}/{name}")
            elif isinstance(value, dict):
                yield from nodes(value, f"{path}/{key}")


def errors(text: str, schema: str = "account") -> list[str]:
    return [str(e) for e in check(loads_yaml(text, "a.yaml"), schema)]


ACCOUNT = 'account: a\nplatform: mitel-connect\nexternal_id: "1"\n'


# --------------------------------------------------------------------------- the files


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_mapping_refuses_unknown_fields(name: str) -> None:
    for pointer, node in nodes(load_schema(name)):
        if "properties" in node:
            assert node.get("additionalProperties") is False, pointer
        if node.get("type") == "object":
            assert "additionalProperties" in node, pointer


@pytest.mark.parametrize("name", (*SCHEMAS, "plan"))
def test_every_field_has_a_description(name: str) -> None:
    schema = load_schema(name)
    assert schema["description"]
    for pointer, node in nodes(schema):
        for field, sub in node.get("properties", {}).items():
            target = sub
            if "$ref" in sub and "description" not in sub:
                target = schema["$defs"][sub["$ref"].rsplit("/", 1)[1]]
            assert target.get("description"), f"{pointer}/properties/{field}"


def test_plan_open_objects_say_what_they_hold() -> None:
    plan = load_schema("plan")["$defs"]
    unmanaged = plan["account"]["properties"]["unmanaged"]["items"]
    assert unmanaged["additionalProperties"] is False
    params = plan["step"]["properties"]["params"]["properties"]
    assert set(params) == {
        "request", "order_id", "supersedes", "old_total", "new_total", "currency"
    }


def test_the_omitted_versus_empty_rule_is_stated() -> None:
    schema = load_schema("account")
    assert "left out is not managed" in schema["description"]
    assert "empty list [] or mapping {} means none" in schema["description"]
    add_ons = schema["$defs"]["user"]["properties"]["add_ons"]["description"]
    assert "Omitted = not managed; [] = none." in add_ons
    assert (
        "Omitted = exactly what the users need" in schema["properties"]["licences"]["description"]
    )


def test_account_and_config_policies_have_the_same_fields() -> None:
    account = load_schema("account")["$defs"]["policy"]["properties"]
    config = load_schema("config")["properties"]["policy"]["properties"]
    assert account.keys() == config.keys()
    for field in account:
        assert {k: v for k, v in account[field].items() if k != "description"} == {
            k: v for k, v in config[field].items() if k != "description"
        }


def test_examples_in_docs_are_valid() -> None:
    assert check(load_yaml(REPO / "docs" / "reconciler.example.yaml"), "config") == []
    assert check(load_yaml(REPO / "docs" / "pricebook.example.yaml"), "pricebook") == []


# --------------------------------------------------------------------------- fast path


def _values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 400),
        st.floats(allow_nan=False, allow_infinity=False, width=16),
        st.sampled_from(["", "x", "pbx", "100-299", "C2TU25", "a@b", "12.50", "USD", "fax"]),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(
                st.sampled_from(["extension", "monthly", "x", "path"]), inner, max_size=2
            ),
        ),
        max_leaves=6,
    )


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


_BASES = {
    "account": [load_yaml(p) for p in sorted((REPO / "accounts").glob("*.yaml"))],
    "pricebook": [load_yaml(REPO / "docs" / "pricebook.example.yaml")],
    "config": [load_yaml(REPO / "docs" / "reconciler.example.yaml")],
}


@given(st.sampled_from(SCHEMAS), st.data(), _values())
def test_fast_check_agrees_with_jsonschema(name: str, data: st.DataObject, value: Any) -> None:
    """The compiled yes/no check never calls valid what jsonschema refuses (and vice versa),
    on shipped files mutated at one place: a random value, a value from elsewhere in the
    file, or the key removed."""
    doc = _plain(data.draw(st.sampled_from(_BASES[name])))
    paths = _paths(doc)
    path = data.draw(st.sampled_from(paths))
    mode = data.draw(st.sampled_from(["random", "swap", "delete"]))
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if mode == "delete":
        del parent[path[-1]]
    else:
        if mode == "swap":
            value = _get(doc, data.draw(st.sampled_from(paths)))
        parent[path[-1]] = copy.deepcopy(value)
    valid = _validator(name).is_valid(doc)
    event(f"{name} valid={valid}")
    assert _fast_check(name)(doc) == valid


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def test_fast_check_refuses_keywords_it_does_not_know() -> None:
    from reconciler.schema import _compile

    with pytest.raises(ValueError, match="oneOf"):
        _compile({"oneOf": [{"type": "string"}]}, {})


# --------------------------------------------------------------------------- wording


def test_unknown_field_points_at_the_key_with_did_you_mean() -> None:
    assert errors(ACCOUNT + "users:\n  - extension: 1\n    profil: standard\n") == [
        'a.yaml:6:5: unknown field "profil" (did you mean "profile"?)'
    ]


def test_unknown_field_without_a_near_name_lists_the_fields() -> None:
    assert errors(ACCOUNT + "policy: {zzz: 1}\n") == [
        'a.yaml:4:10: unknown field "zzz"; expected one of: allow_downgrade, prune, '
        "max_monthly_increase"
    ]


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("users: [{extension: abc}]", '4:21: extension must be an integer, found "abc"'),
        ("users: [{extension: 1.0}]", "4:21: extension must be an integer, found 1.0"),
        ("licences: 12", "4:11: licences must be a mapping of package or SKU to a count, found 12"),
        ("licences: {C2TU1: -1}", '4:19: licences "C2TU1" must be 0 or more, found -1'),
        ("users: {a: 1}", "4:8: users must be a list of users, found a mapping"),
        ("users:", "4:7: users must be a list of users, found nothing (empty value)"),
        ("kind: clent", '4:7: unknown kind "clent" (did you mean "client"?)'),
        ("name: 42", '4:7: name must be a string, found 42; quote it: "42"'),
        ("policy: {prune: yes please}", '4:17: prune must be true or false, found "yes please"'),
        ("users: [{extension: 1, add_ons: [fax, fax]}]", '4:39: add_ons lists "fax" twice'),
        (
            "users: [7]",
            "4:9: entry 1 of users must be a user (a mapping with at least extension:), found 7",
        ),
        (
            'sites: {Main: {extensions: "1 to 9"}}',
            '4:28: extensions "1 to 9" is not valid: '
            'write the range as "first-last", e.g. "100-299"',
        ),
    ],
)
def test_plain_messages(snippet: str, message: str) -> None:
    text = ACCOUNT + snippet + "\n"
    assert errors(text) == [f"a.yaml:{message}"]


def test_all_required_fields_named_once() -> None:
    assert errors("name: x\n") == [
        'a.yaml:1:1: missing required fields "account", "platform", "external_id"'
    ]


def test_all_errors_sorted_by_position() -> None:
    found = errors(ACCOUNT + "users:\n  - {extension: x}\n  - {extension: 2, zz: 1}\nkind: k\n")
    assert [line.split(":", 3)[1:3] for line in found] == [["5", "17"], ["6", "20"], ["7", "7"]]


def test_price_as_a_float_says_to_quote_it() -> None:
    book = "platforms:\n  ipecs-cloud:\n    products:\n      Stand Alone VM: {monthly: 4.5}\n"
    assert errors(book, "pricebook") == [
        "a.yaml:4:33: monthly must be a decimal string or an integer, found 4.5; quote prices so "
        'no rounding creeps in, e.g. "4.50"'
    ]


def test_unknown_platform_in_the_price_book() -> None:
    assert errors("platforms:\n  ipecs: {}\n", "pricebook") == [
        'a.yaml:2:3: unknown platform "ipecs" (did you mean "ipecs-cloud"?)'
    ]


def test_load_document_raises_all_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("state: {path: ''}\nprovider: {}\n")
    with pytest.raises(ValidationFailed) as info:
        load_document(path, "config", display_name="c.yaml")
    assert str(info.value).splitlines() == [
        "c.yaml:1:15: path must not be empty",
        'c.yaml:2:1: unknown field "provider" (did you mean "providers"?)',
    ]


def test_load_document_wraps_a_yaml_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("a: [\n")
    with pytest.raises(ValidationFailed) as info:
        load_document(path, "config", display_name="c.yaml")
    assert len(info.value.errors) == 1
    assert str(info.value).startswith("c.yaml:")
