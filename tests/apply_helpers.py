"""A throwaway workspace for apply tests: the demo account files (or given ones), a
reconciler.yaml pointing the sandbox and the state store into it, and ways to run the CLI
in-process or as a real subprocess (for crashes)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.config import load_config
from reconciler.model import ActualAccount, ActualUser, Licence
from reconciler.sandbox import Sandbox
from reconciler.sandbox.faults import FAULTS_ENV

REPO = Path(__file__).resolve().parents[1]

#: a Call2Teams client whose three PBX users move from tier C2TU1 to C2TU25
TIER_MOVE_YAML = """\
account: tiermove
platform: call2teams
external_id: C2T-20077
name: Tier Move Ltd
kind: client
licences:
  C2TU25: 25        # the 25+ tier: bought for 25 (a quantity below it is refused)
users:
  - {extension: 3001, name: Gus Grant, profile: pbx, licence: C2TU25}
  - {extension: 3002, name: Hal Hayes, profile: pbx, licence: C2TU25}
  - {extension: 3003, name: Ida Irwin, profile: pbx, licence: C2TU25}
"""


def tier_move_actual() -> ActualAccount:
    users = tuple(
        ActualUser(ext, f"T{ext}", name, "pbx", licence="C2TU1")
        for ext, name in ((3001, "Gus Grant"), (3002, "Hal Hayes"), (3003, "Ida Irwin"))
    )
    return ActualAccount(
        platform="call2teams",
        external_id="C2T-20077",
        name="Tier Move Ltd",
        users=users,
        licences=(Licence("C2TU1", 3, date(2025, 6, 1)),),
    )


def workspace(
    tmp_path: Path,
    *,
    accounts: Mapping[str, str] | None = None,
    demo: tuple[str, ...] | None = None,
    config: str = "",
) -> Path:
    """``tmp_path/ws`` with account files: the demo files named in ``demo`` (all when
    None and no ``accounts``) plus ``accounts`` (file name -> YAML text)."""
    ws = tmp_path / "ws"
    (ws / "accounts").mkdir(parents=True)
    names = demo if demo is not None else (() if accounts else None)
    for src in sorted((REPO / "accounts").glob("*.yaml")):
        if names is None or src.stem in names:
            shutil.copy(src, ws / "accounts" / src.name)
    for name, text in (accounts or {}).items():
        (ws / "accounts" / name).write_text(text)
    (ws / "reconciler.yaml").write_text(
        "sandbox: {path: .reconciler/sandbox.db}\nstate: {path: .reconciler/state.db}\n" + config
    )
    return ws


def open_sandbox(ws: Path) -> Sandbox:
    return Sandbox(ws / ".reconciler" / "sandbox.db", load_config(ws / "reconciler.yaml"))


def invoke(ws: Path, *args: str, input: str | None = None) -> Result:
    """The CLI in-process, run from ``ws``."""
    with contextlib.chdir(ws):
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def subprocess_apply(
    ws: Path, *args: str, faults: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m reconciler apply`` as a real process (a crash ends only that process)."""
    env = {k: v for k, v in os.environ.items() if k != FAULTS_ENV}
    if faults:
        env[FAULTS_ENV] = faults
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", *args],
        cwd=ws,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def world(box: Sandbox) -> list[dict[str, Any]]:
    """What a customer would notice, per account: users (with ids: a user deleted and
    re-created gets a new one), licences, orders and charges (no order or charge twice),
    and the bill. Order numbers, keys and dates are left out."""
    out = []
    for acct in box.snapshot()["accounts"]:
        out.append(
            {
                "account": acct["account"],
                "billed_monthly": acct["billed_monthly"],
                "users": acct["users"],
                "pool": acct["pool"],
                "subscriptions": [
                    {k: s[k] for k in ("sku", "quantity", "active", "used")}
                    for s in acct["subscriptions"]
                ],
                "orders": sorted((o["package"], o["delta"], o["state"]) for o in acct["orders"]),
                "charges": sorted(
                    (c["item"], c["amount"], c["extension"]) for c in acct["charges"]
                ),
            }
        )
    return out
