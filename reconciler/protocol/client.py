"""The ``http`` provider: a client of any bridge that speaks the provider protocol.

``providers.<platform>: {kind: http, url, token_env, timeout, ca_file, max_concurrency,
rate_limit}`` in reconciler.yaml. httpx gives connection pooling (one pool per provider,
``max_concurrency`` connections, default 8), timeouts and TLS verification; the calls in
flight and their rate are held to ``max_concurrency`` and ``rate_limit`` where every
provider's are (reconciler/connect.py ``provider_for``), not here; a custom CA is
``ca_file``, and verification is never switched off. Transient answers (429, 5xx, a
timeout, a connection cut mid-answer) raise :class:`TransientError` carrying the bridge's
``Retry-After``, which apply's and plan's retries (reconciler/retry.py) honour. Anything
else a bridge may answer — a refusal, a 401, bad JSON, the wrong shape, a huge body —
is one line naming the bridge and the request, never a traceback. The token is sent, never
shown: no message carries it.
"""

from __future__ import annotations

import email.utils
import json
import logging
import ssl
import time
from collections.abc import Mapping
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from reconciler import __version__
from reconciler.config import Config
from reconciler.envvars import env_value
from reconciler.errors import (
    ConfigError,
    PermissionDenied,
    PlatformError,
    ReconcilerError,
    TransientError,
)
from reconciler.model import ActualAccount
from reconciler.plan import Step
from reconciler.protocol import wire
from reconciler.provider import Provider, StepOutcome
from reconciler.render.escape import one_line

log = logging.getLogger(__name__)

#: an answer larger than this is refused (assumed: 50,000 users fit in a tenth of it)
MAX_ANSWER = 32 << 20
#: a bridge's error message is cut to this many characters
MAX_MESSAGE = 500
#: a Retry-After further away than this is taken as this (the retry budget decides)
MAX_RETRY_AFTER = 300.0
DEFAULTS: Mapping[str, Any] = {"timeout": 30.0, "max_concurrency": 8}


class BridgeError(ReconcilerError):
    """A bridge answered outside the protocol (bad JSON, wrong shape, too large...)."""


class BridgeUnreachable(ReconcilerError):
    """No connection to the bridge at all (refused, unknown host, TLS not trusted)."""


class Unauthorized(ReconcilerError):
    """The bridge refused the token (401)."""


def _text(value: object) -> str:
    text = one_line(str(value))
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: a whole number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return min(max(0.0, when.timestamp() - now), MAX_RETRY_AFTER)


class HttpProvider(Provider):
    """One platform served by the bridge at ``url`` (the base URL, before ``/v1``)."""

    def __init__(
        self,
        platform: str,
        url: str,
        token: str,
        *,
        token_env: str = "",
        timeout: float = 30.0,
        ca_file: str | None = None,
        max_concurrency: int = 8,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parts = urlsplit(url)
        self.platform = platform
        self.url = url.rstrip("/")
        self.host = parts.netloc
        self.token_env = token_env
        self.max_concurrency = max_concurrency
        verify: ssl.SSLContext | bool = True
        if ca_file:
            try:
                verify = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as e:
                raise ReconcilerError(f"ca_file {ca_file}: cannot load it ({e})") from e
        self._client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}",
                     "User-Agent": f"reconciler/{__version__}",
                     "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            verify=verify,
            limits=httpx.Limits(max_connections=max_concurrency,
                                max_keepalive_connections=max_concurrency),
            transport=transport,
            follow_redirects=False,
            trust_env=False,
        )
        self._timeout = timeout

    @property
    def label(self) -> str:
        return self.host

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ the protocol

    def _accounts_path(self) -> str:
        return f"{wire.API}/platforms/{quote(self.platform, safe='')}/accounts"

    def list_accounts(self) -> list[str]:
        data = self.call("GET", self._accounts_path(), component="AccountList")
        return [a["external_id"] for a in data["accounts"]]

    def read_account(self, external_id: str) -> ActualAccount:
        path = f"{self._accounts_path()}/{quote(external_id, safe='')}"
        data = self.call("GET", path, component="Account")
        if data["platform"] != self.platform or data["external_id"] != external_id:
            raise BridgeError(
                f"bridge {self.host}: GET {path}: answered for another account "
                f"({_text(data['platform'])} {_text(data['external_id'])})"
            )
        return wire.account_from_wire(data)

    def perform(self, external_id: str, step: Step, idempotency_key: str) -> StepOutcome:
        path = f"{self._accounts_path()}/{quote(external_id, safe='')}/steps"
        data = self.call("POST", path, body=wire.step_to_wire(step),
                         headers={"Idempotency-Key": idempotency_key},
                         component="StepOutcome")
        outcome = wire.outcome_from_wire(data)
        return StepOutcome(outcome.status, _text(outcome.detail),
                           None if outcome.order_id is None else _text(outcome.order_id))

    # ------------------------------------------------------------------ one request

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        component: str,
    ) -> Any:
        """One request; the answer's JSON when it is a success of the ``component``
        schema, else the matching error (see the module docstring)."""
        what = f"bridge {self.host}: {method} {path}"
        status, raw, after = self._send(method, path, body, headers, what)
        if status in (200, 201):
            data = _parse(raw, what)
            problem = wire.schema_error(component, data)
            if problem is not None:
                raise BridgeError(f"{what}: the answer does not follow the protocol: "
                                  f"{_text(problem)}")
            return data
        code, message = _error_of(raw, status)
        if status == 401:
            raise Unauthorized(
                f"{what}: the bridge refused the token from ${self.token_env or '(none)'} "
                "(HTTP 401)"
            )
        if status == 429 or status >= 500:
            error = TransientError(f"{what}: HTTP {status}: {message}")
            error.retry_after = after
            raise error
        if status == 403:
            raise PermissionDenied(message)
        if 400 <= status < 500:
            raise PlatformError(message, code=code or "refused")
        raise BridgeError(f"{what}: unexpected HTTP status {status}")

    def _send(
        self, method: str, path: str, body: Any, headers: Mapping[str, str] | None, what: str
    ) -> tuple[int, bytes, float | None]:
        try:
            with self._client.stream(method, path, json=body, headers=headers) as answer:
                declared = answer.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_ANSWER:
                    raise BridgeError(f"{what}: the answer is larger than "
                                      f"{MAX_ANSWER >> 20} MiB; refused")
                chunks, size = [], 0
                for chunk in answer.iter_bytes():
                    size += len(chunk)
                    if size > MAX_ANSWER:
                        raise BridgeError(f"{what}: the answer is larger than "
                                          f"{MAX_ANSWER >> 20} MiB; refused")
                    chunks.append(chunk)
                after = retry_after(answer.headers.get("retry-after"))
                return answer.status_code, b"".join(chunks), after
        except httpx.ConnectError as e:
            raise BridgeUnreachable(_unreachable(self.url, e)) from e
        except httpx.TimeoutException as e:
            raise TransientError(
                f"{what}: timeout: no answer within {self._timeout:g}s"
            ) from e
        except httpx.TransportError as e:
            raise TransientError(
                f"{what}: connection lost before the answer ({_text(e) or type(e).__name__})"
            ) from e
        except httpx.InvalidURL as e:
            raise ReconcilerError(f"{what}: invalid URL ({_text(e)})") from e


def _parse(raw: bytes, what: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    try:
        return json.loads(raw.decode("utf-8"), parse_constant=refuse)
    except UnicodeDecodeError as e:
        raise BridgeError(f"{what}: the answer is not UTF-8 text") from e
    except RecursionError as e:
        raise BridgeError(f"{what}: the answer is nested too deeply") from e
    except ValueError as e:
        raise BridgeError(f"{what}: the answer is not JSON ({_text(e)})") from e


def _error_of(raw: bytes, status: int) -> tuple[str, str]:
    """(code, message) of an error answer, whatever the bridge sent."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = None
    if wire.schema_error("Error", data) is None:
        return _text(data["code"]), _text(data["message"]) or f"HTTP {status}"
    return "", f"HTTP {status} (the bridge sent no protocol error body)"


def _unreachable(url: str, e: httpx.ConnectError) -> str:
    reason = str(e)
    if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate" in reason.lower():
        return (f"cannot reach {url}: its TLS certificate is not trusted; set ca_file to "
                "the CA that signed it (verification is never switched off)")
    return f"cannot reach {url} ({_text(reason) or 'connection failed'})"


# ------------------------------------------------------------------------ the kind


def http_provider(platform: str, config: Config) -> Provider:
    """``PROVIDER_KINDS["http"]``: the bridge named by ``providers.<platform>``."""
    opts = config.provider(platform).options
    where = f"providers.{platform}"

    def bad(message: str) -> ConfigError:
        return ConfigError(f"{where}.{message}", file=config.source)

    url = opts.get("url")
    if not isinstance(url, str) or not url:
        raise bad("url: a kind: http provider needs the bridge's url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad(f"url: {_text(url)!r} is not an http:// or https:// URL")
    if parts.username or parts.password:
        raise bad("url: no credentials in the URL; name the token's variable in token_env")
    token_env = opts.get("token_env")
    if not isinstance(token_env, str) or not token_env:
        raise bad("token_env: a kind: http provider needs the variable holding its token")
    value = env_value(token_env)  # a secret: sent in a header, never printed
    if value is None:
        raise bad(f"token_env: the environment variable {token_env} is not set")
    token = value.reveal()
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        log.warning("%s.url is plain http to %s: the token travels unencrypted", where,
                    parts.hostname)
    ca_file = opts.get("ca_file")
    if ca_file is not None:
        path = Path(str(ca_file))
        if not path.is_absolute():
            path = Path(config.root) / path
        if not path.is_file():
            raise bad(f"ca_file: {ca_file} does not exist")
        ca_file = str(path)
    settings = {k: opts.get(k, v) for k, v in DEFAULTS.items()}
    return HttpProvider(
        platform, url, token, token_env=token_env, timeout=float(settings["timeout"]),
        ca_file=ca_file, max_concurrency=int(settings["max_concurrency"]),
    )
