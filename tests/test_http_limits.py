"""A bridge's ``max_concurrency`` and ``rate_limit`` over the served sandbox (a real server
process): the calls reaching the bridge are held to them by the one limiter every provider
kind goes through (reconciler/connect.py ``provider_for``), the HTTP pool's size being the
default concurrency."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import workspace
from fakes.clock import Clock
from served import CLIENT_TOKEN_ENV, TOKEN, Served, served, server_config

from reconciler.config import load_config
from reconciler.connect import provider_for
from reconciler.protocol.client import HttpProvider
from reconciler.provider import Provider
from reconciler.sandbox.faults import FAULTS_ENV

IPECS, VD = "ipecs-cloud", "C000000150"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Served]]:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    monkeypatch.setenv(CLIENT_TOKEN_ENV, TOKEN)
    ws = workspace(tmp_path, demo=("vertical-demo",))
    with served(server_config(ws)) as running:
        yield ws, running


class Calls:
    """What reaches the bridge: requests in flight at once, and when each started."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, clock: Clock | None = None,
                 meet: int = 0) -> None:
        self.in_flight = self.most = 0
        self.started: list[float] = []
        self._lock = threading.Lock()
        barrier = threading.Barrier(meet) if meet else None
        send = HttpProvider._send

        def counted(provider: HttpProvider, *args: Any) -> Any:
            with self._lock:
                self.in_flight += 1
                self.most = max(self.most, self.in_flight)
                self.started.append(clock() if clock else 0.0)
            try:
                if barrier is not None:
                    barrier.wait(10)  # `meet` requests at the bridge together, or it breaks
                return send(provider, *args)
            finally:
                with self._lock:
                    self.in_flight -= 1

        monkeypatch.setattr(HttpProvider, "_send", counted)


def _provider(ws: Path, server: Served, limits: str, clock: Clock | None = None) -> Provider:
    (ws / "reconciler.yaml").write_text(
        "sandbox: {path: .reconciler/sandbox.db}\nproviders:\n"
        f"  {IPECS}: {{kind: http, url: '{server.url}', token_env: {CLIENT_TOKEN_ENV}, "
        f"timeout: 5{limits}}}\n")
    config = load_config(str(ws / "reconciler.yaml"))
    return provider_for(IPECS, config, clock=clock, sleep=clock.sleep if clock else None)


def _read_from_threads(provider: Provider, threads: int, each: int) -> None:
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(each):
                assert provider.read_account(VD).external_id == VD
        except BaseException as e:  # noqa: BLE001  (reported by the test)
            failures.append(e)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    provider.close()
    assert not failures, failures


@pytest.mark.parametrize(("limits", "expected"), [(", max_concurrency: 2", 2), ("", 8)])
def test_requests_in_flight_to_a_bridge_are_held_to_max_concurrency(
    server: tuple[Path, Served], monkeypatch: pytest.MonkeyPatch, limits: str, expected: int
) -> None:
    ws, running = server
    # `expected` requests must meet at the bridge (fewer at once would break the barrier),
    # and never more are in flight: 8 is the default, an HTTP pool's size
    calls = Calls(monkeypatch, meet=expected)
    _read_from_threads(_provider(ws, running, limits), threads=2 * expected, each=2)
    assert calls.most == expected
    assert len(calls.started) == 4 * expected


def test_rate_limit_spaces_the_requests_to_a_bridge(
    server: tuple[Path, Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, running = server
    clock = Clock()
    calls = Calls(monkeypatch, clock)
    _read_from_threads(_provider(ws, running, ", max_concurrency: 1, rate_limit: 4", clock),
                       threads=3, each=3)
    # 4 requests a second on the limiter's clock: one every 0.25 s, none early, none late
    assert calls.started == [i * 0.25 for i in range(9)]
    assert clock.slept == [0.25] * 8
