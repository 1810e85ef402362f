"""Property: whatever a user writes into an account file, validate and plan answer with
one line per error (``file:line:col: message``) or a plan — never a traceback.

The files are the demo accounts with one value replaced by arbitrary YAML data, one key
renamed or one user entry replaced: close to what a person editing a file produces."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.config import Config
from reconciler.errors import ReconcilerError, ValidationFailed
from reconciler.planner import PlanOptions, make_plan

ROOT = Path(__file__).resolve().parent.parent
DEMO = sorted((ROOT / "accounts").glob("*.yaml"))
CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
LINE = re.compile(r"^(accounts/[\w.-]+\.ya?ml:\d+:\d+: |error: |accounts/[\w.-]+\.ya?ml: )\S")

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["standard", "pbx", "C2TU25", "Premium iPECS ONE USER", "100-299",
                     "", "0102", "yes", "~", "fax", "C2TU-I25", "internal", "../x"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=10) | st.sampled_from(["extension", "profile", "name"]),
                      inner, max_size=3),
    max_leaves=8,
)


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here] if here else []
    if isinstance(node, dict):
        for k, v in node.items():
            found += _paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _paths(v, (*here, i))
    return found


def _mutate(doc: dict[str, Any], path: tuple[Any, ...], how: str, new: Any) -> None:
    parent: Any = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "rename" and isinstance(parent, dict):
        parent[str(new)[:12] if not isinstance(new, (dict, list)) else "x"] = parent.pop(last)
    elif how == "delete" and isinstance(parent, dict):
        del parent[last]
    else:
        parent[last] = new


@pytest.fixture
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 40 if CI else 150)), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_edit_gives_error_lines_or_a_plan(workdir: Path, data: st.DataObject,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    shutil.rmtree(workdir / "accounts", ignore_errors=True)
    shutil.copytree(ROOT / "accounts", workdir / "accounts")
    source = data.draw(st.sampled_from(DEMO))
    doc = yaml.safe_load(source.read_text())
    path = data.draw(st.sampled_from(_paths(doc)))
    how = data.draw(st.sampled_from(["replace", "rename", "delete"]))
    _mutate(doc, path, how, data.draw(values))
    target = workdir / "accounts" / source.name
    target.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))

    config = Config(root=workdir, sandbox_path=workdir / "sandbox.db",
                    state_path=workdir / "state.db")
    try:
        plan = make_plan(["accounts"], config, PlanOptions())
    except ValidationFailed as e:
        assert e.errors
        for line in str(e).splitlines():
            assert LINE.match(line), line
    except ReconcilerError as e:
        text = str(e)
        assert "\n" not in text and text, text
    else:
        assert {a.account for a in plan.accounts}
