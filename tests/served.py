"""``reconciler sandbox serve`` as a real server process for tests: started on a free
127.0.0.1 port (``--port 0``; the URL is read from its first line), stopped with SIGTERM
and waited for. Every test that talks HTTP to the sandbox goes through :func:`served`."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.sandbox.faults import FAULTS_ENV
from reconciler.sandbox.serve import TOKEN_ENV

TOKEN = "test-token-7f3a"
#: the variable the clients in tests read the token from
CLIENT_TOKEN_ENV = "RECONCILER_TEST_BRIDGE_TOKEN"
PLATFORMS = ("mitel-connect", "ipecs-cloud", "call2teams")


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def providers_yaml(self, timeout: float = 5, platforms: tuple[str, ...] = PLATFORMS) -> str:
        """reconciler.yaml's ``providers:`` pointing every platform at this server."""
        out = ["providers:"]
        for p in platforms:
            out.append(f"  {p}: {{kind: http, url: '{self.url}', token_env: {CLIENT_TOKEN_ENV}, "
                       f"timeout: {timeout}}}")
        return "\n".join(out) + "\n"


@contextmanager
def served(
    config: Path, *, faults: str | None = None, token: str = TOKEN, extra: tuple[str, ...] = ()
) -> Iterator[Served]:
    """The sandbox of ``config`` (a reconciler.yaml) served until the block ends."""
    env = {k: v for k, v in os.environ.items() if k not in (FAULTS_ENV, TOKEN_ENV)}
    env[TOKEN_ENV] = token
    if faults:
        env[FAULTS_ENV] = faults
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0",
         "--config", str(config), *extra],
        cwd=config.parent, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    try:
        while True:
            line = lines.get(timeout=30)
            if line is None:
                raise RuntimeError(f"the server did not start: {seen}")
            seen.append(line)
            if " on http://" in line or " on https://" in line:
                url = line.split(" on ", 1)[1].split(" ", 1)[0]
                break
        server = Served(url, process, seen)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        while True:
            try:
                line = lines.get(timeout=2)
            except queue.Empty:
                break
            if line is None:
                break
            seen.append(line)


def client_env(monkeypatch: object) -> None:
    """The token for in-process clients (CLI invoked in the test process)."""
    monkeypatch.setenv(CLIENT_TOKEN_ENV, TOKEN)  # type: ignore[attr-defined]


def server_config(ws: Path, extra: str = "") -> Path:
    """The served sandbox's own reconciler.yaml: the workspace's sandbox file (and any
    sandbox settings, e.g. ``providers: {ipecs-cloud: {approval: manual}}``)."""
    path = ws / "server.yaml"
    path.write_text("sandbox: {path: .reconciler/sandbox.db}\n" + extra)
    return path


def point_at(ws: Path, server: Served, timeout: float = 5) -> None:
    """The workspace's reconciler.yaml now reads and writes every platform over HTTP."""
    config = ws / "reconciler.yaml"
    config.write_text(config.read_text() + server.providers_yaml(timeout))
