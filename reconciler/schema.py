"""JSON Schema checks that speak the user's language.

``schemas/*.schema.json`` are the truth for every file format (editors use them too). This
module validates a loaded :class:`~reconciler.yamlload.MarkedDict` against one of them and
turns each jsonschema error into an :class:`InputError` at the exact ``file:line:col``, in
plain words: ``unknown field "profil" (did you mean "profile"?)``, ``extension must be an
integer, found "abc"``.

Two schema annotations beyond the standard ones shape the wording (editors ignore them):
``x-expected`` names what a value must be ("a mapping of package or SKU to a count") and
``patternErrorMessage`` (VS Code's keyword) says how to write a value matching ``pattern``.
``x-money: true`` marks a price, so a float gets "quote it" advice.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import reconciler
from reconciler.catalog import did_you_mean
from reconciler.errors import InputError, ValidationFailed
from reconciler.filenames import outside_repository_error
from reconciler.pattern import validator_class
from reconciler.schemacheck import compile_check, fast_check
from reconciler.yamlload import MarkedDict, load_yaml, mark_at, text_at

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

__all__ = ["SCHEMA_DIR", "check", "load_document", "load_schema", "sorted_errors"]

_fast_check, _compile = fast_check, compile_check  # the compiled check (reconciler.schemacheck)

# reconciler/schemas links to the top-level schemas/ so that a wheel carries them
SCHEMA_DIR = Path(reconciler.__file__).parent / "schemas"

_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping (key: value)",
    "array": "a list",
    "null": "empty",
}


def _is_integer(_checker: Any, value: Any) -> bool:
    # jsonschema counts 12.0 as an integer; an extension or a count written 12.0 is a typo
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(_checker: Any, value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)




@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed ``schemas/<name>.schema.json`` (``name``: account, pricebook, config)."""
    with open(SCHEMA_DIR / f"{name}.schema.json", encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@functools.cache
def _validator(name: str) -> Any:
    # built once per process: the benchmark validates 1,000 files against the same schema.
    # jsonschema is imported here, not at start-up: valid files never need it (the compiled
    # check below answers them), and it is a tenth of the CLI's start-up time
    import jsonschema

    types = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}
    )
    validator = validator_class(jsonschema.Draft202012Validator, type_checker=types)
    return validator(load_schema(name))


def check(document: Any, schema_name: str) -> list[InputError]:
    """Every schema error in ``document`` (a loaded MarkedDict), sorted by position."""
    if fast_check(schema_name)(document):
        return []
    validator = _validator(schema_name)
    errors: list[InputError] = []
    for error in validator.iter_errors(document):
        errors.extend(_translate(error, document))
    return sorted_errors(errors)


def load_document(
    path: str | os.PathLike[str], schema_name: str, *, display_name: str | None = None
) -> MarkedDict:
    """Load a YAML file and check it against ``schemas/<schema_name>.schema.json``.

    Raises :class:`ValidationFailed` with every error found (a single one for a file that is
    not valid YAML at all), each located at ``file:line:col``.
    """
    # reconciler.yaml and the price book are in the repository like the account files: a
    # link out of it (to /etc/shadow) is refused before a byte is read
    outside = outside_repository_error(Path(path), display_name or os.fspath(path))
    if outside is not None:
        raise ValidationFailed([outside])
    soft: list[InputError] = []
    try:
        document = load_yaml(path, display_name=display_name, soft_errors=soft)
    except InputError as e:
        raise ValidationFailed([*soft, e]) from None
    errors = with_yaml_errors(soft, check(document, schema_name))
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(document, MarkedDict)
    return document


def with_yaml_errors(soft: list[InputError], errors: list[InputError]) -> list[InputError]:
    """The loader's YAML-level errors and the schema's, sorted; where both point at the same
    value the schema's wording (which knows the field) is kept."""
    seen = {e.mark for e in errors if e.mark is not None}
    return sorted_errors([*(e for e in soft if e.mark not in seen), *errors])


def sorted_errors(errors: Iterable[InputError]) -> list[InputError]:
    """Errors in file order (file, line, column), duplicates dropped."""
    seen: set[str] = set()
    unique = []
    for e in errors:
        text = str(e)
        if text not in seen:
            seen.add(text)
            unique.append(e)

    def key(e: InputError) -> tuple[str, int, int]:
        if e.mark is not None:
            return (e.mark.file, e.mark.line, e.mark.col)
        return (e.file or "", 0, 0)

    return sorted(unique, key=key)


# --------------------------------------------------------------------------- wording


def _translate(error: ValidationError, root: Any) -> list[InputError]:
    path = list(error.absolute_path)
    keyword = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    where = mark_at(root, path)
    name = _name(error)
    value = error.instance

    if keyword == "additionalProperties" and isinstance(value, dict):
        allowed = list(schema.get("properties", {}))
        out = []
        for key in value:
            if key in allowed:
                continue
            hint = did_you_mean(str(key), allowed) if allowed else ""
            if not hint and allowed:
                hint = f"; expected one of: {', '.join(allowed)}"
            mark = mark_at(root, [*path, key], key=True)
            what = schema.get("x-key", "field")
            out.append(InputError(f'unknown {what} "{key}"{hint}', mark))
        return out
    if keyword == "type":
        message = f"{name} must be {_expected(schema)}, found {_show(value)}"
        if schema.get("x-money") and isinstance(value, float):
            message = (
                f"{name} must be a decimal string or an integer, found {value!r}; "
                f'quote prices so no rounding creeps in, e.g. "{value:.2f}"'
            )
        elif _wants_string(schema) and isinstance(value, (int, float)):
            # quote what the user wrote: `name: yes` is the boolean true, `"yes"` the text
            written = text_at(root, path) or str(value)
            message = f"{name} must be {_expected(schema)}, found {_show(value)}"
            if written != _show(value):
                message += f" (YAML reads {written} as {_show(value)})"
            message += f'; quote it: "{written}"'
        return [InputError(message, where)]
    if keyword == "required":
        missing = [f for f in error.validator_value if isinstance(value, dict) and f not in value]
        if len(missing) == 1:
            return [InputError(f'missing required field "{missing[0]}"', where)]
        fields = ", ".join(f'"{f}"' for f in missing)
        return [InputError(f"missing required fields {fields}", where)]
    if keyword == "enum":
        choices = [str(c) for c in error.validator_value]
        hint = did_you_mean(str(value), choices)
        if not hint:
            hint = f"; expected one of: {', '.join(choices)}"
        return [InputError(f"unknown {name} {_show(value)}{hint}", where)]
    if keyword == "pattern":
        advice = schema.get("patternErrorMessage", f"it must match {error.validator_value}")
        return [InputError(f"{name} {_show(value)} is not valid: {advice}", where)]
    if keyword == "minimum":
        return [InputError(f"{name} must be {error.validator_value} or more, found {value}", where)]
    if keyword == "maximum":
        return [InputError(f"{name} must be {error.validator_value} or less, found {value}", where)]
    if keyword == "exclusiveMinimum":
        bound = error.validator_value
        return [InputError(f"{name} must be more than {bound}, found {value}", where)]
    if keyword in ("minLength", "minProperties"):
        return [InputError(f"{name} must not be empty", where)]
    if keyword == "uniqueItems" and isinstance(value, list):
        seen: dict[Any, int] = {}
        for i, item in enumerate(value):
            k = json.dumps(item, sort_keys=True, default=str)
            if k in seen:
                mark = mark_at(root, [*path, i])
                return [InputError(f"{name} lists {_show(item)} twice", mark)]
            seen[k] = i
    return [InputError(f"{name}: {error.message}", where)]


def _name(error: ValidationError) -> str:
    """What the user calls the failing value: its field name, "licences "C2TU25"", ..."""
    path = list(error.absolute_path)
    steps = [s for s in error.absolute_schema_path if s != "$ref"]
    container = steps[-2] if len(steps) >= 2 else None
    if not path:
        return "the file"
    last = path[-1]
    if isinstance(last, int):
        parent = path[-2] if len(path) >= 2 else "list"
        return f"entry {last + 1} of {parent}"
    if container == "additionalProperties" and len(path) >= 2:
        return f'{_parent_name(path[:-1])} "{last}"'
    return str(last)


def _parent_name(path: Sequence[Any]) -> str:
    last = path[-1]
    return f"entry {last + 1}" if isinstance(last, int) else str(last)


def _expected(schema: dict[str, Any]) -> str:
    if "x-expected" in schema:
        return str(schema["x-expected"])
    kinds = schema.get("type")
    if isinstance(kinds, str):
        return _TYPE_WORDS.get(kinds, kinds)
    if isinstance(kinds, list):
        return " or ".join(_TYPE_WORDS.get(str(k), str(k)) for k in kinds)
    return "something else"


def _wants_string(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    return kinds == "string" or (isinstance(kinds, list) and kinds == ["string"])


def _show(value: Any) -> str:
    """A value as the user would recognise it in a one-line message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (empty value)"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:57] + '..."'
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
