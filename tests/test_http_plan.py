"""Plans through the served sandbox (a real server process) equal plans in-process, and
every answer the server gives follows the protocol's schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from apply_helpers import invoke, workspace
from served import CLIENT_TOKEN_ENV, PLATFORMS, TOKEN, point_at, served, server_config

from reconciler.protocol import wire
from reconciler.sandbox.faults import FAULTS_ENV


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    monkeypatch.delenv("RECONCILER_MITEL_ROLE", raising=False)
    monkeypatch.setenv(CLIENT_TOKEN_ENV, TOKEN)


def _plan(ws: Path, *args: str) -> dict[str, Any]:
    result = invoke(ws, "plan", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    del data["created_at"]
    return data


def test_plans_over_http_equal_plans_in_process_for_every_demo_account(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    local = _plan(ws)
    text_local = invoke(ws, "plan").output
    with served(server_config(ws)) as server:
        point_at(ws, server)
        remote = _plan(ws)
        text_remote = invoke(ws, "plan").output
    assert len(remote["accounts"]) == 4
    for data in (local, remote):  # reconciler.yaml differs: it points at the server
        data.pop("digest")
        for acct in data["accounts"]:
            acct.pop("source")
    assert remote == local  # fingerprints included: a read over HTTP is the same state
    assert text_remote.splitlines()[1:] == text_local.splitlines()[1:]
    # the first line names each platform's provider: the sandbox, or the bridge's host
    assert text_local.splitlines()[0].endswith(
        " · call2teams: sandbox · ipecs-cloud: sandbox · mitel-connect: sandbox")
    bridge = r"127\.0\.0\.1:\d+"
    assert re.fullmatch(rf"Using config: reconciler\.yaml · price book: .+ · call2teams: "
                        rf"{bridge} · ipecs-cloud: {bridge} · mitel-connect: {bridge}",
                        text_remote.splitlines()[0]), text_remote.splitlines()[0]


def _check(answer: httpx.Response, component: str) -> Any:
    data = answer.json()
    assert wire.schema_error(component, data) is None, (answer.status_code, data)
    return data


def _step(**fields: Any) -> dict[str, Any]:
    base = {"id": "s1", "before": None, "after": None, "monthly_delta": "0.00",
            "one_time": "0.00", "mode": "auto", "depends_on": [], "warnings": [], "params": {}}
    return {**base, **fields}


def test_every_answer_follows_the_openapi_schemas(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=())
    with served(server_config(ws)) as server:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=server.url + "/v1/platforms", headers=auth) as http:
            for platform in PLATFORMS:
                listed = _check(http.get(f"/{platform}/accounts"), "AccountList")
                assert listed["accounts"], platform
                for entry in listed["accounts"]:
                    got = http.get(f"/{platform}/accounts/{entry['external_id']}")
                    account = _check(got, "Account")
                    assert account["billed_monthly"] is not None
            ipecs = "/ipecs-cloud/accounts/C000000150"
            order = _step(action="order_licences", licence="Basic User With VM",
                          before={"quantity": 1}, after={"quantity": 2}, mode="approval")
            first = http.post(ipecs + "/steps", json=order, headers={"Idempotency-Key": "k-1"})
            outcome = _check(first, "StepOutcome")
            assert (outcome["status"], first.status_code) == ("pending", 200)
            # a re-run numbers its steps afresh: same meaning, same answer
            again = http.post(ipecs + "/steps", json={**order, "id": "s9"},
                              headers={"Idempotency-Key": "k-1"})
            assert _check(again, "StepOutcome") == outcome
            other = http.post(ipecs + "/steps", json={**order, "after": {"quantity": 3}},
                              headers={"Idempotency-Key": "k-1"})
            assert (other.status_code, _check(other, "Error")["code"]) == (
                409, "idempotency-conflict")
            refused = http.post(ipecs + "/steps", headers={"Idempotency-Key": "k-2"},
                                json=_step(action="delete_user", user=999))
            assert refused.status_code == 404
            assert _check(refused, "Error")["message"] == "Extension 999 does not exist"
            bad = http.post(ipecs + "/steps", json={"action": "x"},
                            headers={"Idempotency-Key": "k-3"})
            assert (bad.status_code, _check(bad, "Error")["code"]) == (400, "bad-request")
            nokey = http.post(ipecs + "/steps", json=order)
            assert nokey.status_code == 400
            _check(nokey, "Error")
            unknown = http.get("/ipecs-cloud/accounts/C404")
            assert unknown.status_code == 404
            assert _check(unknown, "Error")["message"] == "Customer C404 does not exist"
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            denied = httpx.get(server.url + "/v1/platforms/ipecs-cloud/accounts", headers=headers)
            assert denied.status_code == 401
            _check(denied, "Error")


def test_429_and_503_carry_retry_after_and_an_error_body(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=())
    statuses: set[int] = set()
    with (
        served(server_config(ws), faults="http429=0.4,http503=0.4,seed=3") as server,
        httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        for _ in range(20):
            answer = http.get(server.url + "/v1/platforms/call2teams/accounts")
            statuses.add(answer.status_code)
            if answer.status_code != 200:
                assert answer.headers["Retry-After"] == "1"
                _check(answer, "Error")
    assert statuses == {200, 429, 503}


def test_the_protocol_lists_the_registry_platforms() -> None:
    from reconciler.platforms import PLATFORMS as REGISTRY

    assert wire.openapi()["components"]["schemas"]["Platform"]["enum"] == list(REGISTRY)
    assert list(PLATFORMS) == list(REGISTRY)
