"""Benchmark: plan and apply through the served sandbox with injected latency.

Makes N Mitel accounts whose files differ from the sandbox by M user renames each (one
platform write per change), serves the sandbox with ``latency=MS`` (a uvicorn server in
this process, counting requests), then runs ``reconciler plan`` and ``reconciler apply
--auto-approve`` as real processes against it (kind: http, ``max_concurrency`` =
parallelism). Prints, per command, the wall time, the number of platform calls and the
latency floor — calls x latency / allowed concurrency — with the ratio.

    python benchmarks/apply_latency.py --accounts 200 --changes 5 --latency 100 --parallelism 8
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler.config import Config
from reconciler.model import ActualAccount, ActualUser
from reconciler.sandbox.core import Sandbox
from reconciler.sandbox.faults import FaultSpec
from reconciler.sandbox.serve import create_app

TOKEN = "bench-token"
TOKEN_ENV = "RECONCILER_BENCH_TOKEN"


class Counter:
    def __init__(self, app: ASGIApp) -> None:
        self.app, self.calls, self.lock = app, 0, threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with self.lock:
                self.calls += 1
        await self.app(scope, receive, send)


def make_world(root: Path, accounts: int, changes: int) -> Sandbox:
    (root / "accounts").mkdir(parents=True)
    box = Sandbox(root / "sandbox.db", Config(root=root), demo_state=False)
    live = []
    for a in range(accounts):
        ext = f"CC-{a:06d}"
        users = [ActualUser(1000 + u, "", f"User {a}-{u}", "telephony", add_ons=frozenset())
                 for u in range(changes)]
        live.append(ActualAccount("mitel-connect", ext, f"Account {a}", users=tuple(users)))
        lines = [f"account: acct-{a:05d}", "platform: mitel-connect", f"external_id: {ext}",
                 f"name: Account {a}", "users:"]
        for u in range(changes):
            lines += [f"  - extension: {1000 + u}", f"    name: User {a}-{u} renamed",
                      "    profile: telephony"]
        (root / "accounts" / f"acct-{a:05d}.yaml").write_text("\n".join(lines) + "\n")
    box.load_state(live)
    return box


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--changes", type=int, default=5)
    ap.add_argument("--latency", type=int, default=100, help="milliseconds per request")
    ap.add_argument("--parallelism", type=int, default=8)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        box = make_world(root, args.accounts, args.changes)
        app = Counter(create_app(box, TOKEN, FaultSpec(latency=args.latency)))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                               access_log=False))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        (root / "reconciler.yaml").write_text(
            "state: {path: state.db}\nproviders:\n"
            f"  mitel-connect: {{kind: http, url: '{url}', token_env: {TOKEN_ENV}, "
            f"timeout: 30, max_concurrency: {args.parallelism}}}\n")
        env = {**os.environ, TOKEN_ENV: TOKEN}
        helptext = subprocess.run([sys.executable, "-m", "reconciler", "apply", "--help"],
                                  capture_output=True, text=True, env=env).stdout
        extra = ["--parallelism", str(args.parallelism)] if "--parallelism" in helptext else []
        print(f"{args.accounts} accounts x {args.changes} changes, latency {args.latency} ms, "
              f"parallelism {args.parallelism}"
              + ("" if extra else " (this reconciler has no --parallelism: sequential)"))
        print(f"{'command':<8} {'wall':>9} {'calls':>7} {'floor':>9} {'ratio':>7}")
        for name, cmd in (("plan", ["plan", "--format", "json"]),
                          ("apply", ["apply", "--auto-approve"])):
            before = app.calls
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "reconciler", *cmd, *extra],
                                  cwd=root, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - start
            calls = app.calls - before
            floor = calls * args.latency / 1000 / args.parallelism
            status = "" if done.returncode in (0, 2) else f"  (exit {done.returncode}: " \
                f"{done.stderr.strip().splitlines()[-1:]})"
            print(f"{name:<8} {wall:>8.2f}s {calls:>7} {floor:>8.2f}s {wall / floor:>6.2f}x"
                  f"{status}")
        server.should_exit = True
        thread.join(10)
        box.close()


if __name__ == "__main__":
    main()
