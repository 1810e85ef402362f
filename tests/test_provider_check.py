"""``reconciler provider check``: the served sandbox conforms (faults and all), and the kit
catches bridges that break the contract in the ways a partner's bridge could."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from apply_helpers import invoke, workspace
from served import TOKEN, served, server_config
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.sandbox import Sandbox
from reconciler.sandbox.faults import FAULTS_ENV, FaultSpec
from reconciler.sandbox.serve import create_app

CHECK_ENV = "RECONCILER_TEST_CHECK_TOKEN"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    monkeypatch.setenv(CHECK_ENV, TOKEN)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)  # Retry-After waits


def _check(ws: Path, platform: str, url: str):  # type: ignore[no-untyped-def]
    return invoke(ws, "provider", "check", "--platform", platform, "--url", url,
                  "--token-env", CHECK_ENV, "--wait-seconds", "0")


@pytest.mark.parametrize("platform", ["mitel-connect", "ipecs-cloud", "call2teams"])
def test_the_served_sandbox_conforms_under_network_faults(tmp_path: Path, platform: str) -> None:
    ws = workspace(tmp_path, demo=())
    faults = "http429=0.15,http503=0.1,drop_after_commit=0.2,seed=5"
    with served(server_config(ws), faults=faults) as server:
        result = _check(ws, platform, server.url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{server.url}: conforms (")
    assert "Retry-After was not exercised" not in result.stderr


# ------------------------------------------------------------------ broken bridges


class _Rewrite:
    """ASGI middleware making the reference bridge break one rule."""

    def __init__(self, app: ASGIApp, how: str) -> None:
        self.app, self.how = app, how

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = list(scope["headers"])
        if self.how == "ignores-key":  # every request looks new to the sandbox
            headers = [(k, uuid.uuid4().hex.encode() if k == b"idempotency-key" else v)
                       for k, v in headers]
        if self.how == "no-auth":  # any token (or none) is let in
            headers = [h for h in headers if h[0] != b"authorization"]
            headers.append((b"authorization", f"Bearer {TOKEN}".encode()))
        scope = {**scope, "headers": headers}
        if self.how not in ("wrong-shape", "no-retry-after"):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        start, body = held[0], b"".join(m.get("body", b"") for m in held[1:])
        out_headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
        if self.how == "wrong-shape" and scope["method"] == "GET" and start["status"] == 200:
            data = json.loads(body)
            data.pop("today", None)
            body = json.dumps(data).encode()
        if self.how == "no-retry-after":
            out_headers = [(k, v) for k, v in out_headers if k != b"retry-after"]
        out_headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": out_headers})
        await send({"type": "http.response.body", "body": body})


@contextmanager
def _broken_bridge(tmp_path: Path, how: str, faults: FaultSpec | None = None) -> Iterator[str]:
    """The reference bridge behind ``_Rewrite(how)``, a real server on a free port."""
    import socket

    box = Sandbox(tmp_path / "broken.db")
    app = _Rewrite(create_app(box, TOKEN, faults), how)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the broken bridge did not start"
            threading.Event().wait(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
        box.close()


def test_a_bridge_that_ignores_the_idempotency_key_is_caught(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=())
    with _broken_bridge(tmp_path, "ignores-key") as url:
        result = _check(ws, "ipecs-cloud", url)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "same Idempotency-Key twice: 1 change order(s) still pending after their confirm" in (
        lines)
    assert any(line.endswith("(order_licences) again with the same Idempotency-Key: HTTP 200, "
                             "a different answer from the first") for line in lines)
    assert any(line.startswith("POST /v1/platforms/ipecs-cloud/accounts/reconciler-check-")
               and line.endswith("the same Idempotency-Key with another body got HTTP 200 "
                                 "(first answer HTTP 200), expected 409") for line in lines)
    assert "violation(s) in" in result.stderr


def test_a_bridge_that_answers_the_wrong_shape_is_caught(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=())
    with _broken_bridge(tmp_path, "wrong-shape") as url:
        result = _check(ws, "mitel-connect", url)
    assert result.exit_code == 1
    assert any(line.startswith("GET /v1/platforms/mitel-connect/accounts/reconciler-check-")
               and line.endswith(": HTTP 200 answer does not match Account: 'today' is a "
                                 "required property") for line in result.stdout.splitlines())


def test_a_bridge_that_lets_anyone_in_is_caught(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=())
    with _broken_bridge(tmp_path, "no-auth") as url:
        result = _check(ws, "call2teams", url)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:2] == [
        "GET /v1/platforms/call2teams/accounts without a token: HTTP 200, expected 401",
        "GET /v1/platforms/call2teams/accounts with a wrong token: HTTP 200, expected 401",
    ]


def test_a_bridge_that_sends_429_without_retry_after_is_caught(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=())
    with _broken_bridge(tmp_path, "no-retry-after", FaultSpec(http429=0.3, seed=1)) as url:
        result = _check(ws, "mitel-connect", url)
    assert result.exit_code == 1
    assert any(line.endswith(": HTTP 429 without a valid Retry-After header")
               for line in result.stdout.splitlines())


def test_check_needs_its_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = workspace(tmp_path, demo=())
    monkeypatch.delenv(CHECK_ENV)
    result = _check(ws, "mitel-connect", "http://127.0.0.1:9")
    assert (result.exit_code, result.stderr) == (
        1, f"error: --token-env {CHECK_ENV}: that environment variable is not set\n")
