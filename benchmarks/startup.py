"""Benchmark: start-up of the small commands, each a fresh process as a user runs it.

Sets up a throw-away project (the demo accounts, a reconciler.yaml, a git repository, a
migrated state store, a small saved plan), then runs each command RUNS times in a fresh
interpreter and prints the median CPU seconds (user + system of the child, from
``os.wait4``) beside the goal of issue 12 (0.15 s for ``--help`` and the small commands)
and the ratio, twice:

- warm: Python's bytecode cached (as after ``pip install``, or from the second run on),
  in a private cache (PYTHONPYCACHEPREFIX) filled by one uncounted run per command;
- cold: no bytecode written (PYTHONDONTWRITEBYTECODE): only what the installation already
  holds is read (the standard library's, usually), the rest is compiled from source on
  each run, as in a CI job or container that never writes bytecode.

A one-account ``plan`` is measured too: its fixed cost (start-up, the platform registry,
the templates) is what the plan-scale goal pays at small sizes; it is shown against the
same figure for comparison, not a goal of its own. ``--compare CHECKOUT`` measures another
checkout's reconciler too (through PYTHONPATH), its runs interleaved with this one's.

    python benchmarks/startup.py              # every command, 5 runs each
    python benchmarks/startup.py --runs 9 --only history,unlock
    git worktree add --detach /tmp/before b60ef7d
    python benchmarks/startup.py --compare /tmp/before   # before -> after, side by side
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 0.15
#: each run is bounded: a command that hangs is killed and reported
TIMEOUT = 60.0
REPO = Path(__file__).resolve().parent.parent

HELP_OF = ("apply", "catalog", "changed", "drift", "history", "import", "plan", "provider",
           "report", "runbook", "sandbox", "show", "state", "unlock", "validate")


def commands() -> list[tuple[str, list[str]]]:
    """(label, argv after ``reconciler``) in the order printed."""
    rows: list[tuple[str, list[str]]] = [("--help", ["--help"]), ("--version", ["--version"])]
    rows += [(f"{name} --help", [name, "--help"]) for name in HELP_OF]
    rows += [
        ("provider check --help", ["provider", "check", "--help"]),
        ("catalog", ["catalog"]),
        ("changed --base HEAD", ["changed", "--base", "HEAD"]),
        ("validate (one file)", ["validate", "accounts/northwind-mitel.yaml"]),
        ("history", ["history"]),
        ("unlock (not locked)", ["unlock", "northwind-mitel"]),
        ("state migrate", ["state", "migrate"]),
        ("show (saved plan)", ["show", "plans/plan.json"]),
        ("plan (one account)", ["plan", "accounts/northwind-mitel.yaml"]),
    ]
    return rows


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """CPU seconds (user + system) of one fresh ``reconciler`` process, and its exit code."""
    code = "from reconciler.cli import main; main()"
    proc = subprocess.Popen([sys.executable, "-c", code, *argv], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + TIMEOUT
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime, proc.returncode
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise SystemExit(f"reconciler {' '.join(argv)}: still running after {TIMEOUT:g}s")
        time.sleep(0.005)


def make_project(root: Path, env: dict[str, str]) -> None:
    """The demo accounts in a git repository, a migrated state store and a saved plan,
    made by the version measured (``env``)."""
    shutil.copytree(REPO / "accounts", root / "accounts")
    # a partner's repository has one (so every command loads and checks it): the defaults
    (root / "reconciler.yaml").write_text("state:\n  path: .reconciler/state.db\n")
    git_env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
               "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    for argv in (["git", "init", "-q"], ["git", "add", "-A"],
                 ["git", "commit", "-q", "-m", "accounts"]):
        subprocess.run(argv, cwd=root, env=git_env, check=True, timeout=TIMEOUT)
    for argv in (["state", "migrate"],
                 ["plan", "accounts/northwind-mitel.yaml", "-o", "plans/plan.json"]):
        subprocess.run([sys.executable, "-c", "from reconciler.cli import main; main()", *argv],
                       cwd=root, env=env, check=False, timeout=TIMEOUT, capture_output=True)
    if not (root / "plans" / "plan.json").is_file():
        raise SystemExit("could not save the small plan that `show` is measured with")


def environments(tmp: Path, pythonpath: str | None) -> dict[str, dict[str, str]]:
    """warm: a private bytecode cache that runs write; cold: nothing written.
    ``pythonpath``: another checkout to measure (None: the installed one)."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONPATH")
            and not k.startswith("RECONCILER_")}
    if pythonpath:
        base["PYTHONPATH"] = pythonpath
    return {
        "warm": {**base, "PYTHONPYCACHEPREFIX": str(tmp / "pycache")},
        "cold": {**base, "PYTHONDONTWRITEBYTECODE": "1"},
    }


MODES = ("warm", "cold")


def measure(argv: list[str], versions: list[tuple[Path, dict[str, dict[str, str]]]],
            runs: int) -> tuple[dict[tuple[int, str], float], list[set[int]]]:
    """Median CPU seconds per (version, mode), and each version's exit codes; the runs of
    the versions interleave, so a machine busy for a moment weighs on each alike."""
    samples: dict[tuple[int, str], list[float]] = {}
    codes: list[set[int]] = [set() for _ in versions]
    for cwd, envs in versions:
        run_once(argv, cwd, envs["warm"])  # fills the warm bytecode cache
    for _ in range(runs):
        for mode in MODES:
            for v, (cwd, envs) in enumerate(versions):
                cpu, code = run_once(argv, cwd, envs[mode])
                samples.setdefault((v, mode), []).append(cpu)
                codes[v].add(code)
    return {key: statistics.median(values) for key, values in samples.items()}, codes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per command (1-50)")
    ap.add_argument("--only", default="", help="comma-separated labels (prefix match)")
    ap.add_argument("--compare", metavar="CHECKOUT", default=None,
                    help="also measure the reconciler of another checkout (e.g. a git "
                    "worktree of an older commit), before this one, side by side")
    args = ap.parse_args()
    runs = max(1, min(args.runs, 50))
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    rows = [r for r in commands() if not wanted or any(r[0].startswith(w) for w in wanted)]
    with tempfile.TemporaryDirectory() as tmp:
        checkouts: list[str | None] = [None]
        names = ["CPU s"]
        if args.compare:
            checkouts.insert(0, str(Path(args.compare).resolve()))
            names = ["before", "after"]
        # each version gets its own project: its state store and saved plan are its own
        versions = []
        for v, checkout in enumerate(checkouts):
            root = Path(tmp) / f"project{v}"
            root.mkdir()
            envs = environments(Path(tmp), checkout)
            make_project(root, envs["warm"])
            versions.append((root, envs))
        width = max(len(label) for label, _ in rows)
        cell = 7 * len(names) + 6
        print(f"median CPU seconds (user + system) of {runs} fresh processes; goal {GOAL} s; "
              f"ratio = {names[-1]} / goal")
        print(f"{'':<{width}}  " + "  ".join(f"{m:^{cell}}" for m in MODES))
        print(f"{'command':<{width}}  " + "  ".join(
            " ".join(f"{n:>6}" for n in names) + f" {'ratio':>5}" for _ in MODES) + "  exit")
        met = dict.fromkeys(MODES, 0)
        for label, argv in rows:
            medians, codes = measure(argv, versions, runs)
            cells = []
            for mode in MODES:
                now = medians[(len(versions) - 1, mode)]
                met[mode] += now <= GOAL
                cells.append(" ".join(f"{medians[(v, mode)]:>6.3f}" for v in range(len(versions)))
                             + f" {now / GOAL:>5.2f}")
            exits = "/".join(",".join(map(str, sorted(c))) for c in codes)
            print(f"{label:<{width}}  {'  '.join(cells)}  {exits}")
        print(f"within {GOAL} s ({names[-1]}): warm {met['warm']} of {len(rows)}, cold "
              f"{met['cold']} of {len(rows)} (the last row, a one-account plan, is there for "
              "comparison)")


if __name__ == "__main__":
    main()
