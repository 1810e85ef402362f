"""Benchmark: validate and plan N accounts x M users against the sandbox.

Makes N account files (platforms in turn) and a matching sandbox live state with about 5%
of users different (a changed profile, a renamed user, a user missing on the platform),
then prints seconds for: the libyaml C loader alone parsing the same files (the floor),
validate, plan; and the peak memory of the plan (tracemalloc, in a second run). Then the
whole process, as a user runs it: ``reconciler validate``, ``plan`` (text, JSON, HTML,
markdown), ``drift`` and ``apply`` (on a copy of the sandbox) in a fresh interpreter each,
their CPU seconds (user + system, start-up included) against the floor, and their peak RSS;
with several sizes, the peak RSS of each side by side with their ratio.

    python benchmarks/plan_scale.py --accounts 1000 --users 50
    python benchmarks/plan_scale.py --accounts 300,3000 --users 50 --process-only
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml

from reconciler.cli.validate_cmd import check_all
from reconciler.config import Config
from reconciler.model import ActualAccount, ActualUser, Licence, Site
from reconciler.planner import PlanOptions, make_plan
from reconciler.sandbox.core import Sandbox

T = TypeVar("T")

MITEL = ["telephony", "essentials", "standard", "advanced"]
IPECS = ["Basic User With VM", "Premium iPECS ONE USER", "Premium PLUS iPECS ONE USER"]


def _profile(platform: str, i: int) -> str:
    if platform == "mitel-connect":
        return MITEL[i % len(MITEL)]
    if platform == "ipecs-cloud":
        return IPECS[i % len(IPECS)]
    return "pbx"


def make_world(root: Path, n_accounts: int, n_users: int, seed: int = 7) -> Config:
    rng = random.Random(seed)
    accounts_dir = root / "accounts"
    accounts_dir.mkdir(parents=True)
    config = Config(root=root, sandbox_path=root / "sandbox.db", state_path=root / "state.db")
    sandbox = Sandbox(config.sandbox_path, config, demo_state=False)
    live: list[ActualAccount] = []
    platforms = ("mitel-connect", "ipecs-cloud", "call2teams")
    for a in range(n_accounts):
        platform = platforms[a % 3]
        slug = f"acct-{a:05d}"
        ext_id = f"X{a:06d}"
        lines = [f"account: {slug}", f"platform: {platform}", f"external_id: {ext_id}",
                 f"name: Account {a}"]
        if platform == "ipecs-cloud":
            lines += ["sites:", "  Main: {extensions: \"100-9999\"}"]
        if platform == "call2teams":
            lines += ["licences:", f"  C2TU25: {n_users + 5}"]
        lines.append("users:")
        users: list[ActualUser] = []
        for i in range(n_users):
            ext = 100 + i
            profile = _profile(platform, i)
            name = f"User {a}-{i}"
            lines.append(f"  - extension: {ext}")
            lines.append(f"    name: {name}")
            lines.append(f"    email: u{a}x{i}@example.com")
            lines.append(f"    profile: {profile}")
            if platform == "mitel-connect":
                lines.append("    add_ons: []")
            if platform == "ipecs-cloud":
                lines.append("    site: Main")
            if platform == "call2teams":
                lines.append("    licence: C2TU25")
            roll = rng.random()
            if roll < 0.02:
                continue  # missing on the platform: a create
            live_name = f"Old {a}-{i}" if roll < 0.035 else name
            live_profile = profile
            if 0.035 <= roll < 0.05 and platform != "call2teams":
                # one rank lower on the platform: an upgrade in the plan
                ladder = MITEL if platform == "mitel-connect" else IPECS
                live_profile = ladder[max(0, ladder.index(profile) - 1)]
            users.append(ActualUser(
                extension=ext, user_id=f"{ext_id}-{ext}", name=live_name, profile=live_profile,
                email=f"u{a}x{i}@example.com", site="Main" if platform == "ipecs-cloud" else None,
                licence="C2TU25" if platform == "call2teams" else None))
        (accounts_dir / f"{slug}.yaml").write_text("\n".join(lines) + "\n")
        licences: tuple[Licence, ...] = ()
        if platform == "ipecs-cloud":
            counts: dict[str, int] = {}
            for u in users:
                counts[u.profile] = counts.get(u.profile, 0) + 1
            licences = tuple(Licence(k, v) for k, v in sorted(counts.items()))
        if platform == "call2teams":
            licences = (Licence("C2TU25", n_users + 5),)
        live.append(ActualAccount(
            platform=platform, external_id=ext_id, name=f"Account {a}", today=sandbox.today(),
            users=tuple(users), licences=licences,
            sites=(Site("Main", 100, 9999),) if platform == "ipecs-cloud" else ()))
    sandbox.load_state(live)
    sandbox.close()
    return config


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """CPU seconds of ``fn()`` (and its result)."""
    gc.collect()
    start = time.process_time()
    result = fn()
    return time.process_time() - start, result


def peak_memory(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


#: runs ``python -m reconciler`` and, at exit, writes the process's peak RSS (VmHWM: unlike
#: ru_maxrss it starts afresh at exec, so the benchmark's own size does not leak in)
_WRAPPER = """
import atexit, os, runpy, sys
def hwm():
    with open("/proc/self/status") as f, open(os.environ["PEAK_FILE"], "w") as out:
        out.write(next(l.split()[1] for l in f if l.startswith("VmHWM")))
atexit.register(hwm)
sys.argv = ["reconciler", *sys.argv[1:]]
runpy.run_module("reconciler", run_name="__main__", alter_sys=True)
"""


def process(root: Path, *args: str, ok: tuple[int, ...] = (0, 2)) -> tuple[float, float, float]:
    """``reconciler ARGS`` in a fresh interpreter from ``root``: (CPU s, wall s, peak RSS
    MiB). ``os.wait4`` gives that one child's own CPU time, start-up included."""
    peak_file = root / "peak.txt"
    start = time.perf_counter()
    with open(os.devnull, "w") as null:
        proc = subprocess.Popen([sys.executable, "-c", _WRAPPER, *args], cwd=root,
                                stdout=null, stderr=subprocess.PIPE,
                                env={**os.environ, "PEAK_FILE": str(peak_file)})
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok:
        raise SystemExit(f"reconciler {' '.join(args)} failed: {err.decode()[-500:]}")
    return usage.ru_utime + usage.ru_stime, wall, int(peak_file.read_text()) / 1024


def _apply_config(root: Path) -> str:
    """A configuration beside the accounts whose sandbox is a copy of the benchmark's (and
    whose state store is its own), so apply changes nothing the other rows read."""
    copy = root / "sandbox-apply.db"
    with sqlite3.connect(root / "sandbox.db") as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    (root / "apply.yaml").write_text(
        f"sandbox: {{path: {copy}}}\nstate: {{path: {root / 'state-apply.db'}}}\n")
    return str(root / "apply.yaml")


#: whole-process rows: label -> the command's arguments (apply's config added by the run)
COMMANDS: dict[str, tuple[str, ...]] = {
    "validate": ("validate",),
    "plan (text)": ("plan",),
    "plan (json)": ("plan", "--format", "json"),
    "plan (html)": ("plan", "--format", "html"),
    "plan (markdown)": ("plan", "--format", "markdown"),
    "drift": ("drift",),
    # iPECS orders are not waited for: the apply exits 3 (waiting on approval)
    "apply": ("apply", "--auto-approve", "--wait-seconds", "0"),
}


def whole_process(root: Path, floor: float) -> dict[str, float]:
    """Each of :data:`COMMANDS` as a fresh process; returns label -> peak RSS (MiB)."""
    (root / "reconciler.yaml").write_text(
        f"sandbox: {{path: {root / 'sandbox.db'}}}\nstate: {{path: {root / 'state.db'}}}\n")
    peaks: dict[str, float] = {}
    for label, args in COMMANDS.items():
        if label == "apply":
            args = (*args, "--config", _apply_config(root))
        cpu, wall, rss = process(root, *args, ok=(0, 2, 3))
        peaks[label] = rss
        print(f"process: {label:<16} {cpu:6.2f} s CPU ({cpu / floor:.1f}x floor), "
              f"{wall:6.2f} s wall, peak RSS {rss:6.1f} MiB")
    return peaks


def floor_seconds(files: list[Path]) -> float:
    """CPU seconds of the C loader alone over the files (CPU, like the process figures, so
    a busy machine does not flatter the ratios)."""
    gc.collect()
    start = time.process_time()
    for f in files:
        yaml.load(f.read_bytes(), Loader=yaml.CSafeLoader)
    return time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", default="1000",
                        help="number of accounts; several, comma-separated, run side by side")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--process-only", action="store_true",
                        help="only the whole-process figures (skip the in-process runs)")
    args = parser.parse_args()
    sizes = [int(x) for x in str(args.accounts).split(",")]
    peaks = {n: run(n, args.users, args.process_only) for n in sizes}
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        print(f"peak RSS (MiB)      {first:>8,} x {args.users}  {last:>8,} x {args.users}   ratio")
        for label in COMMANDS:
            a, b = peaks[first][label], peaks[last][label]
            print(f"  {label:<16}  {a:13.1f}  {b:13.1f}  {b / a:6.2f}x")
    return 0


def run(n_accounts: int, n_users: int, process_only: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        setup, config = timed(lambda: make_world(root, n_accounts, n_users))
        files = sorted((root / "accounts").glob("*.yaml"))
        t_floor = floor_seconds(files)
        print(f"accounts x users      {n_accounts} x {n_users}  ({len(files)} files; "
              f"set-up {setup:.1f} s)")
        print(f"C loader alone (floor) {t_floor:8.2f} s CPU")
        if not process_only:
            in_process(root, config, t_floor)
        peaks = whole_process(root, t_floor)
        print()
        return peaks


def in_process(root: Path, config: Config, t_floor: float) -> None:
    paths = [str(root / "accounts")]
    config_file = None  # no reconciler.yaml: all defaults
    t_validate, report = timed(lambda: check_all(paths, config_file))
    assert report.valid, report.errors[:3]
    t_plan, plan = timed(lambda: make_plan(paths, config, PlanOptions()))
    peak_validate = peak_memory(lambda: check_all(paths, config_file))
    peak = peak_memory(lambda: make_plan(paths, config, PlanOptions()))
    steps = sum(len(a.steps) for a in plan.accounts)
    print(f"plan steps             {steps:8d}")
    print(f"validate (in-process)  {t_validate:8.2f} s CPU ({t_validate / t_floor:.1f}x floor)")
    print(f"plan (in-process)      {t_plan:8.2f} s CPU ({t_plan / t_floor:.1f}x floor)")
    print(f"validate peak memory   {peak_validate / 2**20:8.1f} MiB (tracemalloc)")
    print(f"plan peak memory       {peak / 2**20:8.1f} MiB (tracemalloc; the plan itself"
          " included)")


if __name__ == "__main__":
    sys.exit(main())
