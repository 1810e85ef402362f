"""Benchmark: K apply processes x N accounts through one PostgreSQL state store.

Makes N account files (plan_scale's generator: the three platforms in turn, about 5% of
users different from a shared SQLite sandbox), starts a throw-away PostgreSQL server (the
tests' fixture: initdb + pg_ctl on a free 127.0.0.1 port) unless --url names one, then runs
K ``reconciler apply`` processes at once, each on an overlapping share of the accounts
(process k takes shares k and k+1 of K: every account is wanted by two processes), with
``--lock-timeout``. Prints the wall time, steps applied per second, how many acquisitions
had to wait for another holder (and how many accounts were planned again under the lock
after waiting, applying what the other run left), and the duplicates and gaps found:
platform writes journaled twice, change orders placed twice and writes never journaled
(all must be 0).

    python benchmarks/state_concurrency.py --processes 4 --accounts 200 --users 25
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests")]

from plan_scale import make_world  # noqa: E402
from postgres_server import PASSWORD, PostgresServer  # noqa: E402

from reconciler.sandbox.core import Sandbox  # noqa: E402
from reconciler.stores import STATE_URL_ENV  # noqa: E402
from reconciler.stores.postgres import PostgresStateStore  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--users", type=int, default=25)
    parser.add_argument("--url", help="an existing PostgreSQL database (password: PGPASSWORD)")
    args = parser.parse_args()
    server = None
    if args.url:
        url, password = args.url, os.environ.get("PGPASSWORD")
    else:
        server = PostgresServer()
        url, password = server.new_database(), PASSWORD
    try:
        return run(args, url, password)
    finally:
        if server is not None:
            server.stop()


def run(args: argparse.Namespace, url: str, password: str | None) -> int:
    k = args.processes
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = make_world(root, args.accounts, args.users)
        (root / "reconciler.yaml").write_text(f"sandbox: {{path: {config.sandbox_path}}}\n")
        files = sorted(str(p.relative_to(root)) for p in (root / "accounts").glob("*.yaml"))
        shares = [files[i * len(files) // k:(i + 1) * len(files) // k] for i in range(k)]
        env = {**os.environ, STATE_URL_ENV: url, "PGPASSWORD": password or ""}
        env.pop("RECONCILER_SANDBOX_FAULTS", None)
        start = time.perf_counter()
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "reconciler", "apply", "--auto-approve",
                 "--lock-timeout", "600s", "--wait-seconds", "0", "--",
                 *shares[i], *shares[(i + 1) % k]],
                cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for i in range(k)
        ]
        outputs = [p.communicate() for p in procs]
        wall = time.perf_counter() - start
        codes = [p.returncode for p in procs]
        waits = sum(err.count("waiting up to") for _, err in outputs)
        stale = sum(err.count("plan is stale") for _, err in outputs)
        again = sum(out.count("planned again under its lock") for out, _ in outputs)
        nothing = sum(out.count("nothing left to do") for out, _ in outputs)
        with PostgresStateStore(url, password=password) as store:
            journal = store.history()
            unjournaled = sum(len(store.unjournaled(s)) for s in store.unjournaled_scopes())
        done = [e.idempotency_key for e in journal if e.result == "done"]
        twice = sum(n - 1 for n in Counter(done).values() if n > 1)
        box = Sandbox(config.sandbox_path, config, demo_state=False)
        try:
            orders = Counter(
                (a["external_id"], o["package"], o["delta"])
                for a in box.snapshot()["accounts"] for o in a["orders"]
            )
        finally:
            box.close()
        orders_twice = sum(n - 1 for n in orders.values() if n > 1)
    print(f"processes x accounts   {k} x {args.accounts} ({args.users} users each; every "
          "account wanted by 2 processes)")
    print(f"exit codes             {codes}")
    print(f"found changed at lock  {stale + again + nothing:8d}  ({nothing} nothing left to do, "
          f"{again} applied what was left, {stale} refused as stale)")
    print(f"wall time              {wall:8.2f} s")
    print(f"steps applied          {len(done):8d}  ({len(done) / wall:.1f} per second)")
    print(f"lock waits             {waits:8d}  (acquisitions that waited for a holder)")
    print(f"writes journaled twice {twice:8d}")
    print(f"orders placed twice    {orders_twice:8d}")
    print(f"writes never journaled {unjournaled:8d}")
    return 0 if twice == 0 and orders_twice == 0 and unjournaled == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
