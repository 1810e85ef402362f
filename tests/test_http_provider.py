"""The ``http`` provider against bridges that misbehave: every malformed or hostile answer,
a refused token and an unreachable URL are one line (no traceback, no token), transient
answers are retried after the bridge's Retry-After."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from apply_helpers import invoke, workspace
from served import CLIENT_TOKEN_ENV, TOKEN, point_at, served, server_config

from reconciler.apply import Applier, ApplySettings
from reconciler.config import Config, ProviderConfig
from reconciler.connect import provider_for
from reconciler.errors import ConfigError, PlatformError, ReconcilerError
from reconciler.progress import PlainProgress
from reconciler.protocol.client import MAX_ANSWER, HttpProvider, retry_after
from reconciler.retry import RetryPolicy
from reconciler.sandbox.faults import FAULTS_ENV
from reconciler.state import StateStore

#: (status, headers, body) the fake bridge answers, in turn (the last one repeats)
Answer = tuple[int, dict[str, str], bytes]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    monkeypatch.setenv(CLIENT_TOKEN_ENV, TOKEN)


class _Bridge:
    """A real HTTP server on 127.0.0.1 answering whatever a test sets."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                bridge.seen.append((self.command, self.path, dict(self.headers)))
                status, headers, body = (
                    bridge.answers.pop(0) if len(bridge.answers) > 1 else bridge.answers[0]
                )
                self.send_response(status)
                for k, v in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, status: int, body: object, **headers: str) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers.append((status, headers, raw))


@pytest.fixture
def bridge() -> Iterator[_Bridge]:
    b = _Bridge()
    b.thread.start()
    try:
        yield b
    finally:
        b.server.shutdown()
        b.server.server_close()


def _provider(url: str, **kwargs: object) -> HttpProvider:
    return HttpProvider("ipecs-cloud", url, TOKEN, token_env=CLIENT_TOKEN_ENV, timeout=2,
                        **kwargs)  # type: ignore[arg-type]


def _account(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "platform": "ipecs-cloud", "external_id": "C1", "name": "Acme", "kind": "client",
        "today": "2026-11-02", "users": [], "licences": [], "orders": [], "sites": [],
    }
    return {**data, **changes}


def _one_line(call: Callable[[], object]) -> str:
    with pytest.raises(ReconcilerError) as e:
        call()
    text = str(e.value)
    assert "\n" not in text and TOKEN not in text
    assert text.isprintable(), text
    return text


HOSTILE = [
    (b"{not json", "the answer is not JSON"),
    (b"\xff\xfe garbage", "the answer is not UTF-8 text"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"platform": NaN}', "the answer is not JSON (NaN is not JSON)"),
    (json.dumps(_account(users="many")).encode(),
     "the answer does not follow the protocol: Account.users: 'many' is not of type 'array'"),
    (json.dumps({k: v for k, v in _account().items() if k != "today"}).encode(),
     "the answer does not follow the protocol: Account: 'today' is a required property"),
    (json.dumps(_account(external_id="C2")).encode(), "answered for another account"),
    (json.dumps(_account(today="\x1b[2Jtomorrow")).encode(),
     "does not match"),
]


@pytest.mark.parametrize(("body", "message"), HOSTILE, ids=[m for _, m in HOSTILE])
def test_a_malformed_answer_is_one_line(bridge: _Bridge, body: bytes, message: str) -> None:
    bridge.answer(200, body)
    text = _one_line(lambda: _provider(bridge.url).read_account("C1"))
    assert text.startswith(f"bridge {bridge.url[7:]}: GET /v1/platforms/ipecs-cloud/accounts/C1: ")
    assert message in text


def test_a_huge_answer_is_refused_without_reading_it_all(bridge: _Bridge) -> None:
    bridge.answer(200, b" " * (MAX_ANSWER + 1))
    assert "the answer is larger than 32 MiB; refused" in _one_line(
        lambda: _provider(bridge.url).read_account("C1"))


def test_control_characters_in_a_refusal_are_shown_escaped(bridge: _Bridge) -> None:
    bridge.answer(422, {"code": "refused",
                        "message": "No\x1b[2J licence\n::error::left \u202eevil"})
    with pytest.raises(PlatformError) as e:
        _provider(bridge.url).read_account("C1")
    assert e.value.message.isprintable()
    assert "\n" not in e.value.message and "\x1b" not in e.value.message


def test_a_refusal_without_an_error_body_says_so(bridge: _Bridge) -> None:
    bridge.answer(404, b"<html>nope</html>")
    with pytest.raises(PlatformError) as e:
        _provider(bridge.url).read_account("C1")
    assert e.value.message == "HTTP 404 (the bridge sent no protocol error body)"


def test_the_token_is_sent_as_a_bearer_and_never_shown(bridge: _Bridge) -> None:
    bridge.answer(401, {"code": "unauthorized", "message": f"bad token {TOKEN}"})
    text = _one_line(lambda: _provider(bridge.url).read_account("C1"))
    assert text.endswith(
        f"the bridge refused the token from ${CLIENT_TOKEN_ENV} (HTTP 401)")
    assert bridge.seen[0][2]["Authorization"] == f"Bearer {TOKEN}"


def test_retry_after_is_honoured_by_the_retries(bridge: _Bridge, tmp_path: Path) -> None:
    bridge.answer(429, {"code": "rate-limited", "message": "slow down"}, **{"Retry-After": "7"})
    bridge.answer(503, {"code": "unavailable", "message": "busy"}, **{"Retry-After": "3"})
    bridge.answer(200, _account())
    waits: list[float] = []
    with StateStore(tmp_path / "state.db") as store:
        applier = Applier(store, PlainProgress(open("/dev/null", "w")),  # noqa: SIM115
                          settings=ApplySettings(retry=RetryPolicy(total=60)),
                          sleep=waits.append, clock=lambda: 0.0)
        account = applier.read(_provider(bridge.url), "C1")
    assert account.name == "Acme"
    assert len(waits) == 2 and waits[0] >= 7 and waits[1] >= 3


def test_retry_after_as_an_http_date() -> None:
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after("soon") is None
    assert retry_after("100000") == 300.0


def test_an_unreachable_url_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = _one_line(lambda: _provider(f"http://127.0.0.1:{port}").read_account("C1"))
    assert text.startswith(f"cannot reach http://127.0.0.1:{port} (")


def test_config_mistakes_of_an_http_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    def make(**options: object) -> str:
        config = Config(providers={"ipecs-cloud": ProviderConfig("http", options)},
                        source="reconciler.yaml")
        with pytest.raises(ConfigError) as e:
            provider_for("ipecs-cloud", config)
        return str(e.value)

    assert make(token_env="X") == (
        "reconciler.yaml: providers.ipecs-cloud.url: a kind: http provider needs the "
        "bridge's url")
    assert make(url="ftp://h", token_env="X") == (
        "reconciler.yaml: providers.ipecs-cloud.url: 'ftp://h' is not an http:// or "
        "https:// URL")
    assert make(url="https://u:p@h", token_env="X").endswith(
        "no credentials in the URL; name the token's variable in token_env")
    monkeypatch.delenv("NOT_SET_TOKEN", raising=False)
    assert make(url="https://h", token_env="NOT_SET_TOKEN") == (
        "reconciler.yaml: providers.ipecs-cloud.token_env: the environment variable "
        "NOT_SET_TOKEN is not set")
    assert make(url="https://h", token_env=CLIENT_TOKEN_ENV, ca_file="nope.pem") == (
        "reconciler.yaml: providers.ipecs-cloud.ca_file: nope.pem does not exist")


def test_plan_with_a_wrong_token_is_one_line(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ws = workspace(tmp_path, demo=("vertical-demo",))
    with served(server_config(ws)) as server:
        point_at(ws, server)
        monkeypatch.setenv(CLIENT_TOKEN_ENV, "not-the-token")
        result = invoke(ws, "plan")
    assert result.exit_code == 1
    host = server.url[len("http://"):]
    assert result.stderr == (
        f"error: bridge {host}: GET /v1/platforms/ipecs-cloud/accounts/C000000150: the "
        f"bridge refused the token from ${CLIENT_TOKEN_ENV} (HTTP 401)\n")
    assert "not-the-token" not in result.output


def test_serve_needs_its_token_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = workspace(tmp_path, demo=())
    monkeypatch.delenv("NO_SUCH_TOKEN_VAR", raising=False)
    result = invoke(ws, "sandbox", "serve", "--token-env", "NO_SUCH_TOKEN_VAR")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: --token-env NO_SUCH_TOKEN_VAR: set that environment variable to the token "
        "clients must send (it is never printed)\n")


def test_serve_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    ws = workspace(tmp_path, demo=())
    with served(server_config(ws)) as server:
        pass
    assert server.process.returncode == 0
    assert server.lines[-1] == "sandbox server stopped"
    assert all(TOKEN not in line for line in server.lines)
