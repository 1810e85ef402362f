"""The saved plan: :class:`~reconciler.plan.Plan` <-> JSON (``schemas/plan.schema.json``).

A saved plan carries everything apply needs (each step with its ``params``, each account's
file ``path``, ``external_id`` and the ``fingerprint`` of the actual state it was made
from). Money is a two-place decimal string on the wire and ``Decimal`` again on load, so a
round trip is exact.

:func:`load_plan` refuses anything that is not a plan this version can read with one line
that names the file and, where it helps, the JSON path of the bad value.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, NoReturn

from reconciler.errors import InputError
from reconciler.model import Mark
from reconciler.money import fmt
from reconciler.outfile import write_file
from reconciler.plan import ACTIONS, FORMAT_VERSION, MODES, AccountPlan, Cost, Plan, Step, Verdict
from reconciler.platforms import PLATFORMS

MONEY_RE = re.compile(r"^-?\d+\.\d{2}$")


class PlanFileError(InputError):
    """A saved plan that cannot be read: missing, not JSON, foreign, newer or corrupt."""


# --------------------------------------------------------------------------- to JSON


def _plain(value: Any) -> Any:
    """JSON-safe copy of a before/after/params value (sets sorted, Decimal as money)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (frozenset, set)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return fmt(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def step_to_json(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {"id": step.id, "action": step.action}
    if step.user is not None:
        out["user"] = step.user
    if step.licence is not None:
        out["licence"] = step.licence
    if step.name:
        out["name"] = step.name
    out.update(
        {
            "label": step.label,
            "before": _plain(step.before) if step.before is not None else None,
            "after": _plain(step.after) if step.after is not None else None,
            "monthly_delta": fmt(step.monthly_delta),
            "one_time": fmt(step.one_time),
            "mode": step.mode,
            "depends_on": list(step.depends_on),
            "warnings": list(step.warnings),
            "params": _plain(step.params),
            "sample_prices": list(step.sample_prices),
        }
    )
    if step.revenue_delta is not None and step.margin_delta is not None:
        out["revenue_delta"] = fmt(step.revenue_delta)
        out["margin_delta"] = fmt(step.margin_delta)
    return out


def account_to_json(acct: AccountPlan) -> dict[str, Any]:
    if acct.fingerprint is None:  # a plan made to be shown only (Session(fingerprints=False))
        raise TypeError(f"the plan of {acct.account} has no fingerprint: it cannot be saved")
    return {
        "account": acct.account,
        "platform": acct.platform,
        "external_id": acct.external_id,
        "path": acct.path,
        "fingerprint": acct.fingerprint,
        "steps": [step_to_json(s) for s in acct.steps],
        "cost": {
            "monthly_before": fmt(acct.cost.monthly_before),
            "monthly_after": fmt(acct.cost.monthly_after),
            "monthly_delta": fmt(acct.cost.monthly_delta),
            "one_time": fmt(acct.cost.one_time),
            "currency": acct.cost.currency,
            "prices": {"used": list(acct.cost.prices_used),
                       "from_samples": list(acct.cost.prices_sample)},
            **({"estimate_before": fmt(acct.cost.estimate_before)}
               if acct.cost.estimate_before is not None else {}),
            **_margin(acct.cost),
        },
        "warnings": list(acct.warnings),
        "blocked": [
            {"policy": v.policy, "message": v.message, "blocking": v.blocking}
            for v in acct.blocked
        ],
        "unmanaged": [_plain(u) for u in acct.unmanaged],
        **({"drift": list(acct.drift)} if acct.drift else {}),
        **({"source": dict(acct.source)} if acct.source is not None else {}),
    }


def _margin(cost: Cost) -> dict[str, str]:
    """Revenue and margin, before and after, where the price book gives customer prices."""
    if cost.revenue_before is None or cost.revenue_after is None:
        return {}
    return {
        "revenue_before": fmt(cost.revenue_before),
        "revenue_after": fmt(cost.revenue_after),
        "revenue_delta": fmt(cost.revenue_after - cost.revenue_before),
        "margin_before": fmt(cost.margin_before),
        "margin_after": fmt(cost.margin_after),
        "margin_delta": fmt(cost.margin_after - cost.margin_before),
    }


def plan_to_json(plan: Plan) -> dict[str, Any]:
    data = {
        "format_version": FORMAT_VERSION,
        "created_at": plan.created_at,
        **({"base": dict(plan.base)} if plan.base else {}),
        **({"options": dict(plan.options)} if plan.options is not None else {}),
        "accounts": [account_to_json(a) for a in plan.accounts],
        "summary": plan.summary(),
    }
    return {"digest": content_digest(data), **data}


def content_digest(data: Mapping[str, Any]) -> str:
    """sha256 of a plan's JSON content, its own ``digest`` left out: the same content
    gives the same digest however the file is laid out."""
    content = {k: v for k, v in data.items() if k != "digest"}
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def plan_digest(plan: Plan) -> str:
    """The digest a saved copy of ``plan`` carries."""
    return str(plan_to_json(plan)["digest"])


def dump_plan(plan: Plan, fh: IO[str]) -> None:
    json.dump(plan_to_json(plan), fh, indent=2, ensure_ascii=False)
    fh.write("\n")


def save_plan(plan: Plan, path: str | os.PathLike[str]) -> None:
    """Write the plan to ``path`` atomically (a reader never sees half a plan); only a
    regular file (reconciler.outfile)."""
    write_file(path, lambda fh: dump_plan(plan, fh))


# --------------------------------------------------------------------------- from JSON


class _Reader:
    """Typed access to one JSON object; every refusal names the JSON path."""

    def __init__(self, data: Any, where: str, file: str) -> None:
        self.file = file
        self.where = where
        if not isinstance(data, dict):
            self.fail(f"{where or 'the file'} must be an object")
        self.data: dict[str, Any] = data

    def fail(self, message: str) -> NoReturn:
        raise PlanFileError(f"not a valid plan: {message}", file=self.file)

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, kinds: type | tuple[type, ...], *, optional: bool = False) -> Any:
        if key not in self.data:
            if optional:
                return None
            self.fail(f"{self._path(key)} is missing")
        value = self.data[key]
        # bool is an int in Python; a plan never means True where it says a number
        if isinstance(value, bool) and bool not in _tuple(kinds):
            self.fail(f"{self._path(key)} must be {_kind_name(kinds)}, not {value!r}")
        if not isinstance(value, kinds):
            self.fail(f"{self._path(key)} must be {_kind_name(kinds)}, not {_json_type(value)}")
        return value

    def text(self, key: str) -> str:
        return str(self.get(key, str))

    def money(self, key: str) -> Decimal:
        text = self.text(key)
        if not MONEY_RE.match(text):
            self.fail(f'{self._path(key)} must be money like "12.50", not {text!r}')
        return Decimal(text)

    def strings(self, key: str, *, optional: bool = False) -> tuple[str, ...]:
        items = self.get(key, list, optional=optional) or []
        for i, item in enumerate(items):
            if not isinstance(item, str):
                self.fail(f"{self._path(key)}[{i}] must be a string, not {_json_type(item)}")
        return tuple(items)

    def objects(self, key: str, *, optional: bool = False) -> list[_Reader]:
        items = self.get(key, list, optional=optional) or []
        return [_Reader(item, f"{self._path(key)}[{i}]", self.file) for i, item in enumerate(items)]


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _kind_name(kinds: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", list: "a list", dict: "an object",
             bool: "true or false", type(None): "null"}
    return " or ".join(names.get(k, k.__name__) for k in _tuple(kinds))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _step(r: _Reader) -> Step:
    action = r.text("action")
    if action not in ACTIONS:
        r.fail(f"{r.where}.action: unknown action {action!r}")
    mode = r.text("mode")
    if mode not in MODES:
        r.fail(f"{r.where}.mode: unknown mode {mode!r}")
    user = r.get("user", int, optional=True)
    licence = r.get("licence", str, optional=True)
    if user is None and licence is None:
        r.fail(f"{r.where} names neither a user nor a licence")
    return Step(
        id=r.text("id"),
        action=action,
        user=user,
        licence=licence,
        before=r.get("before", (dict, type(None)), optional=True),
        after=r.get("after", (dict, type(None)), optional=True),
        monthly_delta=r.money("monthly_delta"),
        one_time=r.money("one_time"),
        mode=mode,
        depends_on=r.strings("depends_on"),
        warnings=r.strings("warnings"),
        label=r.get("label", str, optional=True) or "",
        params=r.get("params", dict, optional=True) or {},
        name=r.get("name", str, optional=True) or "",
        sample_prices=r.strings("sample_prices", optional=True),
        revenue_delta=r.money("revenue_delta") if "revenue_delta" in r.data else None,
    )


def _account(r: _Reader) -> AccountPlan:
    cost = _Reader(r.get("cost", dict), f"{r.where}.cost", r.file)
    raw_prices = cost.get("prices", dict, optional=True)
    prices = _Reader(raw_prices if raw_prices is not None else {}, f"{cost.where}.prices", r.file)
    steps = tuple(_step(s) for s in r.objects("steps"))
    ids = {s.id for s in steps}
    for s in steps:
        for dep in s.depends_on:
            if dep not in ids:
                r.fail(f"{r.where}: step {s.id} depends on unknown step {dep!r}")
    platform = r.text("platform")
    if platform not in PLATFORMS:
        r.fail(f"{r.where}.platform: unknown platform {platform!r}")
    result = AccountPlan(
        account=r.text("account"),
        platform=platform,
        external_id=r.text("external_id"),
        fingerprint=r.text("fingerprint"),
        path=r.get("path", str, optional=True) or "",
        steps=steps,
        cost=Cost(
            monthly_before=cost.money("monthly_before"),
            monthly_after=cost.money("monthly_after"),
            one_time=cost.money("one_time"),
            currency=cost.text("currency"),
            prices_used=prices.strings("used", optional=True),
            prices_sample=prices.strings("from_samples", optional=True),
            estimate_before=(cost.money("estimate_before")
                             if "estimate_before" in cost.data else None),
            revenue_before=(cost.money("revenue_before")
                            if "revenue_before" in cost.data else None),
            revenue_after=(cost.money("revenue_after")
                           if "revenue_after" in cost.data else None),
        ),
        warnings=r.strings("warnings"),
        blocked=tuple(
            Verdict(
                policy=v.text("policy"),
                message=v.text("message"),
                blocking=bool(v.get("blocking", bool, optional=True) is not False),
            )
            for v in r.objects("blocked")
        ),
        unmanaged=tuple(u.data for u in r.objects("unmanaged")),
        drift=r.strings("drift", optional=True),
        source=_source(r),
    )
    if cost.money("monthly_delta") != result.cost.monthly_delta:
        r.fail(f"{r.where}.cost.monthly_delta is not monthly_after - monthly_before")
    return result


def _source(r: _Reader) -> dict[str, str | None] | None:
    if r.get("source", dict, optional=True) is None:
        return None
    src = _Reader(r.data["source"], f"{r.where}.source", r.file)
    return {key: src.get(key, (str, type(None))) for key in SOURCE_KEYS}


#: what a saved plan records of the desired state it was made from (reconciler/review.py)
SOURCE_KEYS = ("file", "config", "pricebook", "commit")


def _options(r: _Reader) -> dict[str, bool] | None:
    if r.get("options", dict, optional=True) is None:
        return None
    opts = _Reader(r.data["options"], "options", r.file)
    return {key: bool(opts.get(key, bool)) for key in ("allow_downgrade", "force")}


def plan_from_json(data: Any, file: str = "<plan>") -> Plan:
    """A Plan from parsed JSON; PlanFileError (one line) for anything else."""
    if not isinstance(data, dict) or "format_version" not in data:
        raise PlanFileError("not a reconciler plan (no format_version)", file=file)
    version = data["format_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise PlanFileError(f"not a reconciler plan (format_version {version!r})", file=file)
    if version > FORMAT_VERSION:
        raise PlanFileError(
            f"plan format {version} is newer than this reconciler reads ({FORMAT_VERSION}); "
            "upgrade reconciler or make the plan again",
            file=file,
        )
    if version < 1:
        raise PlanFileError(f"not a reconciler plan (format_version {version})", file=file)
    r = _Reader(data, "", file)
    base = None
    if r.get("base", dict, optional=True) is not None:
        b = _Reader(data["base"], "base", file)
        base = {"ref": b.text("ref"), "commit": b.text("commit")}
    plan = Plan(
        accounts=tuple(_account(a) for a in r.objects("accounts")),
        created_at=r.text("created_at"),
        format_version=version,
        base=base,
        options=_options(r),
    )
    if version < FORMAT_VERSION:
        raise PlanFileError(
            f"plan format {version} records neither its own digest nor the files it was made "
            "from, so it cannot be checked: make the plan again",
            file=file,
        )
    if r.text("digest") != content_digest(data):
        raise PlanFileError(
            "plan file was modified after it was made (its content does not match its "
            "digest): make the plan again",
            file=file,
        )
    return plan


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Read a saved plan; PlanFileError (one line, naming the file) when it is not one."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise PlanFileError("no such plan file", file=name) from e
    except IsADirectoryError as e:
        raise PlanFileError("is a directory, not a plan file", file=name) from e
    except UnicodeDecodeError as e:
        raise PlanFileError("not a reconciler plan (not UTF-8 text)", file=name) from e
    except OSError as e:
        raise PlanFileError(f"cannot read: {e.strerror or e}", file=name) from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise PlanFileError(
            f"not a reconciler plan (invalid JSON: {e.msg})", Mark(name, e.lineno, e.colno)
        ) from e
    except RecursionError as e:
        raise PlanFileError("not a reconciler plan (JSON nested too deeply)", file=name) from e
    return plan_from_json(data, name)
