from __future__ import annotations

import io
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from render_sample import CREATED_AT, sample_plan

from reconciler.plan import AccountPlan, Cost, Plan, Step
from reconciler.planio import PlanFileError, dump_plan, load_plan, plan_to_json, save_plan

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "schemas" / "plan.schema.json").read_text(encoding="utf-8")
)


def validate(data: Any) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(data)


def saved(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_round_trip_is_exact(tmp_path: Path) -> None:
    plan = sample_plan()
    save_plan(plan, tmp_path / "plans" / "plan.json")
    loaded = load_plan(tmp_path / "plans" / "plan.json")
    assert loaded == plan
    step = loaded.accounts[0].steps[3]
    assert step.monthly_delta == Decimal("4.50") and isinstance(step.monthly_delta, Decimal)
    assert str(loaded.accounts[0].cost.monthly_delta) == "-1.50"
    assert loaded.accounts[0].path == "accounts/northwind-mitel.yaml"
    assert loaded.accounts[3].steps[0].params["request"].startswith("Please amend C2TU-I25")
    assert loaded.accounts[3].blocked[0].blocking is False


def test_drift_round_trips_and_is_left_out_when_empty(tmp_path: Path) -> None:
    plan = sample_plan()
    first = replace(plan.accounts[0], drift=("trial C2TUT expired on 2026-11-07",))
    plan = replace(plan, accounts=(first, *plan.accounts[1:]))
    save_plan(plan, tmp_path / "plan.json")
    data = json.loads((tmp_path / "plan.json").read_text())
    assert data["accounts"][0]["drift"] == ["trial C2TUT expired on 2026-11-07"]
    assert "drift" not in data["accounts"][1]
    assert load_plan(tmp_path / "plan.json") == plan


def test_cents_survive_where_a_float_would_not(tmp_path: Path) -> None:
    # 0.10 + 0.20 is 0.30000000000000004 as floats; the wire must keep cents exact
    step = Step("s1", "add_addon", user=1, after={"add_on": "fax"},
                monthly_delta=Decimal("0.10") + Decimal("0.20"))
    acct = AccountPlan("a", "mitel-connect", "X", "sha256:00", (step,),
                       Cost(Decimal("0.10"), Decimal("0.40"), Decimal("0.00")))
    path = tmp_path / "p.json"
    save_plan(Plan((acct,), created_at=CREATED_AT), path)
    assert '"monthly_delta": "0.30"' in path.read_text()
    assert load_plan(path).accounts[0].steps[0].monthly_delta == Decimal("0.30")


def test_json_matches_the_schema_and_money_is_two_place_strings() -> None:
    data = plan_to_json(sample_plan())
    validate(data)
    assert data["summary"] == {"accounts": 5, "steps": 19, "monthly_delta": "-10.50",
                               "one_time": "75.00", "blocked": 1,
                               "prices": {"used": 0, "from_samples": 0}}
    acct = data["accounts"][0]
    assert acct["cost"] == {"monthly_before": "250.00", "monthly_after": "248.50",
                            "monthly_delta": "-1.50", "one_time": "75.00", "currency": "USD",
                            "prices": {"used": [], "from_samples": []}}
    assert acct["fingerprint"].startswith("sha256:")
    assert acct["steps"][6]["one_time"] == "75.00"
    assert "licence" not in acct["steps"][0] and acct["steps"][0]["user"] == 1009

    def no_floats(value: Any) -> None:
        assert not isinstance(value, float), value
        if isinstance(value, dict):
            for v in value.values():
                no_floats(v)
        if isinstance(value, list):
            for v in value:
                no_floats(v)

    no_floats(data)


def test_dump_writes_the_same_json() -> None:
    out = io.StringIO()
    dump_plan(sample_plan(), out)
    assert json.loads(out.getvalue()) == plan_to_json(sample_plan())
    assert out.getvalue().endswith("}\n")


def _corrupt(change: Any) -> dict[str, Any]:
    data = plan_to_json(sample_plan())
    change(data)
    return data


def _set(path: list[Any], value: Any) -> Any:
    def change(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        if value is KeyError:
            del data[path[-1]]
        else:
            data[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set(["accounts", 0, "fingerprint"], KeyError), "accounts[0].fingerprint is missing"),
        (_set(["accounts", 0, "steps", 1, "monthly_delta"], "8.5"),
         "accounts[0].steps[1].monthly_delta must be money like \"12.50\", not '8.5'"),
        (_set(["accounts", 0, "steps", 1, "monthly_delta"], 8.5),
         "accounts[0].steps[1].monthly_delta must be a string, not a number"),
        (_set(["accounts", 0, "steps", 0, "action"], "teleport"),
         "accounts[0].steps[0].action: unknown action 'teleport'"),
        (_set(["accounts", 0, "steps", 0, "mode"], "later"),
         "accounts[0].steps[0].mode: unknown mode 'later'"),
        (_set(["accounts", 0, "steps", 3, "depends_on"], ["s99"]),
         "accounts[0]: step s4 depends on unknown step 's99'"),
        (_set(["accounts", 0, "steps", 0, "user"], True),
         "accounts[0].steps[0].user must be an integer, not True"),
        (_set(["accounts"], {}), "accounts must be a list, not an object"),
        (_set(["accounts", 2, "platform"], "teams-phone"),
         "accounts[2].platform: unknown platform 'teams-phone'"),
        (_set(["accounts", 1, "cost", "monthly_delta"], "99.00"),
         "accounts[1].cost.monthly_delta is not monthly_after - monthly_before"),
    ],
)
def test_a_corrupt_plan_is_refused_naming_the_value(
    tmp_path: Path, change: Any, message: str
) -> None:
    path = saved(tmp_path, _corrupt(change))
    with pytest.raises(PlanFileError) as err:
        load_plan(path)
    assert str(err.value) == f"{path}: not a valid plan: {message}"


@pytest.mark.parametrize(
    ("change"),
    [
        _set(["accounts", 0, "fingerprint"], KeyError),
        _set(["accounts", 0, "steps", 1, "monthly_delta"], "8.5"),
        _set(["accounts", 0, "steps", 1, "monthly_delta"], 8.5),
        _set(["accounts", 0, "steps", 0, "action"], "teleport"),
        _set(["accounts", 0, "steps", 0, "mode"], "later"),
        _set(["format_version"], 3),
        _set(["accounts", 2, "platform"], "teams-phone"),
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(change: Any) -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate(_corrupt(change))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"terraform_version": "1.9"}', "not a reconciler plan (no format_version)"),
        ("[1, 2]", "not a reconciler plan (no format_version)"),
        ('{"format_version": "1"}', "not a reconciler plan (format_version '1')"),
        ('{"format_version": 0}', "not a reconciler plan (format_version 0)"),
        ('{"format_version": 3, "accounts": []}',
         "plan format 3 is newer than this reconciler reads (2); upgrade reconciler or make "
         "the plan again"),
    ],
)
def test_a_foreign_or_newer_file_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PlanFileError) as err:
        load_plan(path)
    assert str(err.value) == f"{path}: {message}"


def test_invalid_json_points_at_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text('{\n  "format_version": 1,\n  oops\n}', encoding="utf-8")
    with pytest.raises(PlanFileError) as err:
        load_plan(path)
    assert str(err.value) == (
        f"{path}:3:3: not a reconciler plan (invalid JSON: "
        "Expecting property name enclosed in double quotes)"
    )


def test_missing_binary_and_directory(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError, match="plan.json: no such plan file$"):
        load_plan(tmp_path / "plan.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(PlanFileError, match=r"bin.json: not a reconciler plan \(not UTF-8 text\)$"):
        load_plan(tmp_path / "bin.json")
    with pytest.raises(PlanFileError, match="is a directory, not a plan file$"):
        load_plan(tmp_path)


def test_deeply_nested_json_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(PlanFileError, match="nested too deeply|no format_version"):
        load_plan(path)
