"""The protocol's wire format: the OpenAPI document's component schemas as validators, and
the model <-> JSON conversions both sides use (so a read over HTTP fingerprints exactly
like a read in-process)."""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import fields
from datetime import date
from decimal import Decimal
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from reconciler.model import ActualAccount, ActualUser, ChangeOrder, Licence, Site, to_jsonable
from reconciler.plan import Step
from reconciler.provider import StepOutcome
from reconciler.schema import SCHEMA_DIR

API = "/v1"
OPENAPI_FILE = "provider.openapi.yaml"
#: where the OpenAPI document's relative $refs (plan.schema.json) resolve
_BASE = "https://reconciler.example/schemas/"
#: a message or detail longer than this is cut (the schema's maxLength)
MAX_TEXT = 2000


#: the document and its validators are built once, by the first thread that needs them:
#: functools.cache alone lets every worker of a parallel plan parse the document at once
_BUILDING = threading.RLock()
#: libyaml's loader when PyYAML has it (the document is parsed at every start-up)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def openapi() -> dict[str, Any]:
    with _BUILDING:
        return _openapi()


@functools.cache
def _openapi() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(  # noqa: S506 - a safe loader
        (SCHEMA_DIR / OPENAPI_FILE).read_text("utf-8"), Loader=_Loader)
    return data


@functools.cache
def _registry() -> Registry:
    plan = json.loads((SCHEMA_DIR / "plan.schema.json").read_text("utf-8"))
    return Registry().with_resources(
        [
            (_BASE + OPENAPI_FILE, DRAFT202012.create_resource(openapi())),
            (_BASE + "plan.schema.json", Resource.from_contents(plan)),
        ]
    )


def validator(component: str) -> jsonschema.Draft202012Validator:
    """A validator for ``components.schemas.<component>`` of the OpenAPI document."""
    with _BUILDING:
        return _validator(component)


@functools.cache
def _validator(component: str) -> jsonschema.Draft202012Validator:
    if component not in openapi()["components"]["schemas"]:
        raise KeyError(component)
    ref = {"$ref": f"{_BASE}{OPENAPI_FILE}#/components/schemas/{component}"}
    from reconciler.pattern import validator_class

    checked: jsonschema.Draft202012Validator = validator_class(jsonschema.Draft202012Validator)(
        ref, registry=_registry())
    return checked


def schema_error(component: str, data: Any) -> str | None:
    """The first way ``data`` breaks the component's schema, in one line; None if valid."""
    errors = sorted(validator(component).iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    e = errors[0]
    where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
    message = e.message if len(e.message) <= 200 else e.message[:200] + "..."
    return f"{component}{where}: {message}"


# ------------------------------------------------------------------------- accounts


def account_to_wire(account: ActualAccount, billed: Decimal | None = None) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(account)
    if billed is not None and data.get("billed_monthly") is None:
        data["billed_monthly"] = f"{billed:.2f}"
    return data


def _day(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)


def account_from_wire(data: Mapping[str, Any]) -> ActualAccount:
    """The model from an answer that passed ``schema_error("Account", ...)``."""
    extra: dict[str, Any] = {}
    names = {f.name for f in fields(ActualAccount)}
    if "billed_monthly" in names and data.get("billed_monthly") is not None:
        # the actual model carries the platform's bill once it has the field (assumed name)
        extra["billed_monthly"] = Decimal(data["billed_monthly"])
    if data.get("billed_currency") is not None:
        extra["billed_currency"] = data["billed_currency"]
    return ActualAccount(
        platform=data["platform"],
        external_id=data["external_id"],
        name=data["name"],
        kind=data["kind"],
        today=date.fromisoformat(data["today"]),
        users=tuple(
            ActualUser(
                extension=u["extension"],
                user_id=u["user_id"],
                name=u["name"],
                profile=u["profile"],
                email=u["email"],
                site=u["site"],
                add_ons=frozenset(u["add_ons"]),
                licence=u["licence"],
                caller_id=u["caller_id"],
                call_barring=u["call_barring"],
                fraud_limit=u["fraud_limit"],
                active=u["active"],
            )
            for u in data["users"]
        ),
        licences=tuple(
            Licence(lic["key"], lic["quantity"], _day(lic["started_on"]), lic["active"])
            for lic in data["licences"]
        ),
        orders=tuple(
            ChangeOrder(
                order_id=o["order_id"],
                licence=o["licence"],
                delta=o["delta"],
                state=o["state"],
                submitted_on=date.fromisoformat(o["submitted_on"]),
                idempotency_key=o["idempotency_key"],
            )
            for o in data["orders"]
        ),
        sites=tuple(Site(s["name"], s["first"], s["last"]) for s in data["sites"]),
        **extra,
    )


# ------------------------------------------------------------------------- steps


def step_to_wire(step: Step) -> dict[str, Any]:
    from reconciler.planio import step_to_json

    return step_to_json(step)


def step_meaning(data: Mapping[str, Any]) -> str:
    """sha256 of what a step request asks for (action, user, licence, before, after,
    params): two requests with one Idempotency-Key must agree on it, else 409. The other
    fields only describe the step for a reader and may differ on a re-run."""
    meaning = {k: data.get(k) for k in ("action", "user", "licence", "before", "after", "params")}
    blob = json.dumps(meaning, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def outcome_to_wire(outcome: StepOutcome) -> dict[str, Any]:
    return {"status": outcome.status, "detail": outcome.detail[:MAX_TEXT],
            "order_id": outcome.order_id}


def outcome_from_wire(data: Mapping[str, Any]) -> StepOutcome:
    return StepOutcome(status=data["status"], detail=data["detail"], order_id=data["order_id"])


def error_body(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": " ".join(message.split())[:MAX_TEXT]}


def step_from_wire(data: Mapping[str, Any]) -> Step:
    """The step of a request that passed ``schema_error("Step", ...)``."""
    return Step(
        id=data["id"],
        action=data["action"],
        user=data.get("user"),
        licence=data.get("licence"),
        before=data["before"],
        after=data["after"],
        monthly_delta=Decimal(data["monthly_delta"]),
        one_time=Decimal(data["one_time"]),
        mode=data["mode"],
        depends_on=tuple(data["depends_on"]),
        warnings=tuple(data["warnings"]),
        label=data.get("label", ""),
        params=data.get("params") or {},
        name=data.get("name", ""),
    )
