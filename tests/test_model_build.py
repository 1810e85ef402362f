"""model.build: a frozen model object made without its __init__ is the same object."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.model import ActualUser, DesiredUser, Mark, Policy, build, maker

_OPTIONAL: dict[str, st.SearchStrategy[Any]] = {
    "name": st.text(max_size=5), "email": st.text(max_size=5), "site": st.text(max_size=3),
    "profile": st.text(max_size=5), "add_ons": st.frozensets(st.text(max_size=3), max_size=2),
    "licence": st.text(max_size=3), "fraud_limit": st.integers(0, 9),
    "renumbered_from": st.integers(0, 9), "absent": st.booleans(),
    "allow_downgrade": st.booleans(),
    "marks": st.dictionaries(st.text(max_size=3), st.builds(Mark, st.just("f"),
                                                             st.integers(1, 9),
                                                             st.integers(1, 9)), max_size=2),
}


@given(st.integers(0, 99999), st.fixed_dictionaries({}, optional=_OPTIONAL))
def test_build_makes_what_the_constructor_makes(extension: int, values: dict[str, Any]) -> None:
    values = {"extension": extension, "mark": Mark("a.yaml", 3, 5), **values}
    made, expected = build(DesiredUser, dict(values)), DesiredUser(**values)
    assert made == expected and hash(made) == hash(expected) and repr(made) == repr(expected)
    assert vars(made) == vars(expected)
    assert made.marks == expected.marks and made.marks is not build(DesiredUser, {
        "extension": 1, "mark": expected.mark}).marks  # a fresh default each time
    assert replace(made, name="x") == replace(expected, name="x")
    with pytest.raises(AttributeError):
        made.name = "changed"  # type: ignore[misc]  (frozen all the same)


@pytest.mark.parametrize("values", [{"extension": 1}, {"extension": 1, "mark": None, "x": 2}])
def test_build_refuses_as_the_constructor_does(values: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        build(DesiredUser, values)


def test_build_of_a_class_with_only_defaults() -> None:
    assert build(Policy, {}) == Policy()
    assert build(Policy, {"prune": True}) == Policy(prune=True)


_USER_ROW = st.tuples(
    st.integers(0, 99999), st.text(max_size=4), st.text(max_size=4), st.text(max_size=4),
    st.none() | st.text(max_size=4), st.none() | st.text(max_size=3),
    st.frozensets(st.text(max_size=3), max_size=2), st.none() | st.text(max_size=3),
    st.none() | st.text(max_size=4), st.none() | st.text(max_size=4),
    st.none() | st.integers(0, 9), st.booleans())


@given(_USER_ROW)
def test_maker_makes_what_the_constructor_makes(row: tuple[Any, ...]) -> None:
    made, expected = maker(ActualUser)(*row), ActualUser(*row)
    assert made == expected and hash(made) == hash(expected) and repr(made) == repr(expected)
    assert vars(made) == vars(expected)
    assert replace(made, name="x") == replace(expected, name="x")
    with pytest.raises(AttributeError):
        made.name = "changed"  # type: ignore[misc]  (frozen all the same)


def test_maker_refuses_as_the_constructor_does() -> None:
    make = maker(ActualUser)
    assert make(1, "u", "n", "p") == ActualUser(1, "u", "n", "p")  # defaults: the constructor
    with pytest.raises(TypeError):
        make(1)
    with pytest.raises(TypeError):
        make(*range(13))
