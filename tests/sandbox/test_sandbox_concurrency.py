"""Two processes on one sandbox file: no "database is locked", nothing lost or doubled."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reconciler.sandbox import FAULTS_ENV, Sandbox

_WORKER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from reconciler.plan import Step
    from reconciler.sandbox import Sandbox

    path, first = Path(sys.argv[1]), int(sys.argv[2])
    box = Sandbox(path)  # both processes may be the first user of the file
    for i in range(25):
        ext = first + i
        box.perform("mitel-connect", "CC-104233", Step(
            id=f"c{ext}", action="create_user", user=ext,
            after={"name": f"User {ext}", "profile": "courtesy"}), f"user-{ext}")
        # the same ten orders from both processes (same keys): each placed once
        if i < 10:
            box.perform("ipecs-cloud", "C000000150", Step(
                id=f"o{i}", action="order_licences", licence="Stand Alone VM",
                before={"quantity": 1}, after={"quantity": 2}), f"order-{i}")
        box.read_account("ipecs-cloud", "C000000150")
    print("ok")
""")


def test_two_processes_write_the_same_fresh_file(tmp_path: Path) -> None:
    db = tmp_path / "new" / "sandbox.db"
    env = {k: v for k, v in os.environ.items() if k != FAULTS_ENV}
    procs = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(db), str(first)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for first in (3000, 4000)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert out == "ok\n"
    box = Sandbox(db)
    exts = [u.extension for u in box.read_account("mitel-connect", "CC-104233").users]
    assert [e for e in exts if e >= 3000] == [*range(3000, 3025), *range(4000, 4025)]
    orders = box.read_account("ipecs-cloud", "C000000150").orders
    assert sorted(o.idempotency_key or "" for o in orders) == [f"order-{i}" for i in range(10)]
    # the demo state was seeded exactly once
    assert len(box.list_accounts()) == 4


def test_a_second_process_never_sees_the_tables_without_their_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cause of the flaky test above: the tables were committed, then seeded in a
    second transaction; a process opening the file in between found the schema, skipped
    the seed, and its first step failed with "Customer ... does not exist"."""
    import sqlite3

    from reconciler.sandbox import demo

    db = tmp_path / "sandbox.db"
    seen: list[object] = []
    seed = demo.seed

    def watching_seed(c: sqlite3.Connection) -> None:
        other = sqlite3.connect(str(db))  # another reader, as a second process would be
        try:
            seen.append(other.execute(
                "SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone())
        finally:
            other.close()
        seed(c)

    monkeypatch.setattr(demo, "seed", watching_seed)
    box = Sandbox(db)
    assert seen == [None]  # nothing visible until the seed is in
    assert len(box.list_accounts()) == 4
