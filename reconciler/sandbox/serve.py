"""``reconciler sandbox serve``: the sandbox over the provider protocol
(``schemas/provider.openapi.yaml``), the reference bridge.

Starlette on uvicorn: a small, well-kept ASGI toolkit and server. The protocol has four
routes and needs no validation framework, dependency injection or generated docs (the
OpenAPI document is written by hand and checked by tests), so FastAPI would add weight
and magic without helping. uvicorn stops gracefully on SIGTERM / SIGINT (requests in flight
are answered first).

Each request: bearer token (401), then the network faults of ``RECONCILER_SANDBOX_FAULTS``
(latency, http429, http503), then the sandbox call in a worker thread (the sandbox's own
rules, idempotency keys and faults), then drop_after_commit and slow.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from reconciler.errors import (
    InputError,
    PermissionDenied,
    PlatformError,
    ReconcilerError,
    TransientError,
)
from reconciler.model import Site
from reconciler.protocol import wire
from reconciler.sandbox.core import PLATFORM_MODULES, Sandbox
from reconciler.sandbox.faults import SLOW_SECONDS, FaultSpec

TOKEN_ENV = "RECONCILER_SANDBOX_TOKEN"
#: a request body larger than this is refused (413)
MAX_REQUEST = 1 << 20
#: seconds a client is told to wait after a 429 or 503 (assumed: short, it is a simulation)
RETRY_AFTER = 1
#: HTTP status per PlatformError code; any other code is a refusal by the rules (422)
_STATUS = {"not-found": 404, "idempotency-conflict": 409, "permission": 403}


class _Problem(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER)} if status in (429, 503) else None
    return JSONResponse(wire.error_body(code, message), status_code=status, headers=headers)


class _CutConnection(Response):
    """Headers and part of the body, then the connection is closed: the answer is lost."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"4096")]})
        await send({"type": "http.response.body", "body": b"{", "more_body": True})
        # returning without completing the response makes uvicorn close the connection


class _Faults:
    """Network faults, drawn from one seeded generator (thread-safe)."""

    def __init__(self, spec: FaultSpec) -> None:
        self.spec = spec
        self._rng = random.Random(spec.seed)
        self._lock = threading.Lock()

    def hit(self, p: float) -> bool:
        if not p:
            return False
        with self._lock:
            return self._rng.random() < p


def create_app(sandbox: Sandbox, token: str, faults: FaultSpec | None = None) -> Starlette:
    """The protocol's routes over ``sandbox``; requests must carry ``Bearer <token>``."""
    if not token:
        raise ReconcilerError("the served sandbox needs a token")
    net = _Faults(faults or FaultSpec())
    expected = f"Bearer {token}".encode()

    async def guarded(
        request: Request, work: Callable[[], Any], *, write: bool = False, status: int = 200
    ) -> Response:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return _error(401, "unauthorized", "missing or wrong bearer token")
        if net.spec.latency:
            await asyncio.sleep(net.spec.latency / 1000)
        if net.hit(net.spec.http429):
            return _error(429, "rate-limited", "too many requests")
        if net.hit(net.spec.http503):
            return _error(503, "unavailable", "service unavailable")
        platform = request.path_params["platform"]
        if platform not in PLATFORM_MODULES:
            return _error(404, "not-found", f"this bridge serves no platform {platform!r}")
        try:
            body = await run_in_threadpool(work)
        except _Problem as p:
            return _error(p.status, p.code, p.message)
        except TransientError as e:
            return _error(503, "unavailable", str(e))
        except PermissionDenied as e:
            return _error(403, "permission", e.message)
        except PlatformError as e:
            return _error(_STATUS.get(e.code, 422), e.code, e.message)
        except InputError as e:
            return _error(400, "bad-request", str(e))
        except ReconcilerError as e:
            return _error(422, "refused", str(e))
        if write and net.hit(net.spec.drop_after_commit):
            return _CutConnection()
        if net.hit(net.spec.slow):
            await asyncio.sleep(SLOW_SECONDS)
        return JSONResponse(body, status_code=status)

    async def list_accounts(request: Request) -> Response:
        platform = request.path_params["platform"]

        def work() -> dict[str, Any]:
            return {"accounts": [
                {"external_id": x, "name": sandbox.read_account(platform, x).name}
                for x in sandbox.list_accounts(platform)
            ]}

        return await guarded(request, work)

    async def read_account(request: Request) -> Response:
        platform, external_id = request.path_params["platform"], request.path_params["id"]

        def work() -> dict[str, Any]:
            account = sandbox.read_account(platform, external_id)
            return wire.account_to_wire(account, sandbox.billed_monthly(platform, external_id))

        return await guarded(request, work)

    async def create_account(request: Request) -> Response:
        platform = request.path_params["platform"]
        raw = await request.body()

        def work() -> dict[str, Any]:
            data = _json(raw, "NewAccount")
            sites = [Site(s["name"], s["first"], s["last"]) for s in data.get("sites", [])]
            sandbox.add_account(platform, data["external_id"], data.get("name"),
                                data.get("kind", "client"), sites)
            account = sandbox.read_account(platform, data["external_id"])
            return wire.account_to_wire(account, sandbox.billed_monthly(
                platform, data["external_id"]))

        # not a write that faults cut: creating an account is not idempotent (no key)
        return await guarded(request, work, status=201)

    async def perform(request: Request) -> Response:
        platform, external_id = request.path_params["platform"], request.path_params["id"]
        raw = await request.body()
        key = request.headers.get("idempotency-key", "")

        def work() -> dict[str, Any]:
            if not key or len(key) > 200 or not all("!" <= ch <= "~" for ch in key):
                raise _Problem(400, "bad-request", "an Idempotency-Key header (printable "
                               "ASCII, at most 200 characters) is required")
            data = _json(raw, "Step")
            step = wire.step_from_wire(data)
            outcome = sandbox.perform(platform, external_id, step, key,
                                      request=wire.step_meaning(data))
            return wire.outcome_to_wire(outcome)

        return await guarded(request, work, write=True)

    base = f"{wire.API}/platforms/{{platform}}/accounts"
    routes = [
        Route(base, list_accounts, methods=["GET"]),
        Route(base, create_account, methods=["POST"]),
        Route(base + "/{id:path}/steps", perform, methods=["POST"]),
        Route(base + "/{id:path}", read_account, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def _json(raw: bytes, component: str) -> Any:
    if len(raw) > MAX_REQUEST:
        raise _Problem(413, "bad-request", f"request body over {MAX_REQUEST} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise _Problem(400, "bad-request", f"request body is not JSON: {e}") from e
    problem = wire.schema_error(component, data)
    if problem is not None:
        raise _Problem(400, "bad-request", f"request body does not match {problem}")
    return data


def serve(
    sandbox: Sandbox,
    token: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: FaultSpec | None = None,
    tls: tuple[str, str] | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve until SIGTERM / SIGINT. Port 0 picks a free port; ``announce`` gets the URL
    once the socket listens (connections made from then on wait for the server).
    ``tls``: (certificate file, key file) to serve https."""
    import contextlib
    import signal
    import socket
    import ssl

    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on connections
    # accepted from a socket whose proto says TCP. Without it, Nagle holds every answer's
    # body back until the client's delayed ACK of its headers: ~40 ms on each request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ReconcilerError(f"cannot listen on {host}:{port} ({e.strerror or e})") from e
    sock.listen(256)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    config = uvicorn.Config(
        create_app(sandbox, token, faults),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=int(SLOW_SECONDS) + 2,
        lifespan="off",
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    if tls:
        try:
            config.load()  # reads the certificate and key now: a bad file is one line
        except (OSError, ssl.SSLError) as e:
            sock.close()
            raise ReconcilerError(f"--tls-cert/--tls-key: cannot use them ({e})") from e
    scheme = "https" if tls else "http"

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn's own raises the signal again after the graceful stop; a stop asked
            # for is a clean exit here (status 0, "stopped")
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            signals = (signal.SIGINT, signal.SIGTERM)
            before = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
            try:
                yield
            finally:
                for sig, handler in before.items():
                    signal.signal(sig, handler)

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:  # the signal handlers are in place: a SIGTERM is graceful
                announce(f"{scheme}://{shown}:{bound}")

    try:
        Server(config).run(sockets=[sock])
    finally:
        sock.close()
