"""Benchmark: validate and plan N accounts x M users against the sandbox.

Makes N account files (platforms in turn) and a matching sandbox live state with about 5%
of users different (a changed profile, a renamed user, a user missing on the platform),
then prints seconds for: the libyaml C loader alone parsing the same files (the floor),
validate, plan; and the peak memory of the plan (tracemalloc, in a second run).

    python benchmarks/plan_scale.py --accounts 1000 --users 50
"""

from __future__ import annotations

import argparse
import gc
import random
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
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def peak_memory(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        setup, config = timed(lambda: make_world(root, args.accounts, args.users))
        paths = [str(root / "accounts")]
        files = sorted((root / "accounts").glob("*.yaml"))

        def floor() -> None:
            for f in files:
                yaml.load(f.read_bytes(), Loader=yaml.CSafeLoader)

        t_floor, _ = timed(floor)
        config_file = None  # no reconciler.yaml: all defaults
        t_validate, report = timed(lambda: check_all(paths, config_file))
        assert report.valid, report.errors[:3]
        t_plan, plan = timed(lambda: make_plan(paths, config, PlanOptions()))
        peak_validate = peak_memory(lambda: check_all(paths, config_file))
        peak = peak_memory(lambda: make_plan(paths, config, PlanOptions()))
        steps = sum(len(a.steps) for a in plan.accounts)
        print(f"accounts x users      {args.accounts} x {args.users}"
              f"  ({len(files)} files, {steps} steps; set-up {setup:.1f} s)")
        print(f"C loader alone (floor) {t_floor:8.2f} s")
        print(f"validate               {t_validate:8.2f} s  ({t_validate / t_floor:.1f}x floor)")
        print(f"plan                   {t_plan:8.2f} s  ({t_plan / t_floor:.1f}x floor)")
        print(f"validate peak memory   {peak_validate / 2**20:8.1f} MiB (tracemalloc)")
        print(f"plan peak memory       {peak / 2**20:8.1f} MiB (tracemalloc; the plan itself"
              " included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
