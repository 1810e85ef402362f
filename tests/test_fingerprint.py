"""The live state's fingerprint: the same bytes as first written (saved plans in the wild
carry it), equal for equal states wherever the state was read (in-process, over the wire),
different for different states; computed only by the plans that are saved or applied."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import fields, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.model import ActualAccount, ActualUser, ChangeOrder, Licence, Site
from reconciler.protocol.wire import account_from_wire, account_to_wire

ROOT = Path(__file__).resolve().parent.parent

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_opt_text = st.none() | _text
_day = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))

users = st.builds(
    ActualUser, extension=st.integers(0, 99999), user_id=_text, name=_text, profile=_text,
    email=_opt_text, site=_opt_text, add_ons=st.frozensets(_text, max_size=3),
    licence=_opt_text, caller_id=_opt_text, call_barring=_opt_text,
    fraud_limit=st.none() | st.integers(0, 10**6), active=st.booleans())
accounts = st.builds(
    ActualAccount, platform=st.sampled_from(["mitel-connect", "ipecs-cloud", "call2teams"]),
    external_id=_text, name=_text, kind=st.sampled_from(["client", "internal"]), today=_day,
    users=st.lists(users, max_size=4).map(tuple),
    licences=st.lists(st.builds(Licence, key=_text, quantity=st.integers(0, 500),
                                started_on=st.none() | _day, active=st.booleans()),
                      max_size=3).map(tuple),
    orders=st.lists(st.builds(ChangeOrder, order_id=_text, licence=_text,
                              delta=st.integers(-50, 50),
                              state=st.sampled_from(["submitted", "approved", "confirmed"]),
                              submitted_on=_day, idempotency_key=_opt_text),
                    max_size=2).map(tuple),
    sites=st.lists(st.builds(Site, name=_text, first=st.integers(0, 500),
                             last=st.integers(500, 9999)), max_size=2).map(tuple),
    billed_monthly=st.none() | st.decimals(min_value=0, max_value=10**6, places=2),
    billed_currency=st.none() | st.sampled_from(["EUR", "GBP"]))


def _as_first_written(obj: Any) -> Any:
    """The fingerprint's serialisation as first written (before any speed-up)."""
    from collections.abc import Mapping

    if hasattr(obj, "__dataclass_fields__") and not isinstance(obj, type):
        return {f.name: _as_first_written(getattr(obj, f.name))
                for f in fields(obj) if f.name not in ("marks", "mark")}
    if isinstance(obj, (frozenset, set)):
        return sorted(obj)
    if isinstance(obj, (list, tuple)):
        return [_as_first_written(x) for x in obj]
    if isinstance(obj, Mapping):
        return {str(k): _as_first_written(v) for k, v in obj.items()}
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return str(obj)
    return obj


def first_written(state: ActualAccount) -> str:
    blob = json.dumps(_as_first_written(state), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


@given(accounts)
def test_the_fingerprint_is_the_one_first_written(state: ActualAccount) -> None:
    assert state.fingerprint() == first_written(state)


@given(accounts)
def test_a_state_read_over_the_wire_fingerprints_the_same(state: ActualAccount) -> None:
    again = account_from_wire(json.loads(json.dumps(account_to_wire(state))))
    assert again == state
    assert again.fingerprint() == state.fingerprint()


@given(accounts, st.data())
def test_a_different_state_fingerprints_differently(state: ActualAccount,
                                                     data: st.DataObject) -> None:
    other = data.draw(accounts)
    assert (other.fingerprint() == state.fingerprint()) == (other == state)


@given(accounts.filter(lambda a: bool(a.users)), st.sampled_from(
    ["name", "profile", "email", "add_ons", "fraud_limit", "active", "extension"]))
def test_one_changed_user_field_changes_the_fingerprint(state: ActualAccount,
                                                        name: str) -> None:
    user = state.users[0]
    value: Any = getattr(user, name)
    if name in ("name", "profile"):
        changed: Any = value + "x"
    elif name == "email":
        changed = (value or "") + "@"
    elif name == "add_ons":
        changed = value ^ {"fax-x"}
    elif name == "active":
        changed = not value
    else:  # fraud_limit, extension
        changed = (value or 0) + 100000
    other = replace(state, users=(replace(user, **{name: changed}), *state.users[1:]))
    assert other.fingerprint() != state.fingerprint()


# (tests/test_render_demo.py pins the demo's fingerprints in the saved plan's golden file)


# ----------------------------------------------------------------- only when needed


@pytest.fixture
def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The demo repository in tmp_path; each fingerprint computed is counted."""
    shutil.copytree(ROOT / "accounts", tmp_path / "accounts")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    seen: list[str] = []
    real = ActualAccount.fingerprint

    def counting(self: ActualAccount) -> str:
        seen.append(self.external_id)
        return real(self)

    monkeypatch.setattr(ActualAccount, "fingerprint", counting)
    return seen


def test_a_text_plan_computes_no_fingerprint(counted: list[str]) -> None:
    result = CliRunner().invoke(cli, ["plan", "--parallelism", "1"])
    assert "Plan:" in result.output or "vertical-demo" in result.output, result.output
    assert counted == []


@pytest.mark.parametrize("args", [["--format", "json"], ["-o", "saved.json"]])
def test_a_saved_plan_fingerprints_every_account(counted: list[str], args: list[str],
                                                 tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", "--parallelism", "1", *args])
    assert len(counted) == 4, result.output
    text = (tmp_path / "saved.json").read_text() if "-o" in args else result.stdout
    saved = json.loads(text)
    assert all(a["fingerprint"].startswith("sha256:") for a in saved["accounts"])
