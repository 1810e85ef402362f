"""Red-team variants of the trust holes (issue 9), each closed at its mechanism."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from apply_helpers import invoke, open_sandbox, workspace, world
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.pattern import pattern_search
from reconciler.sandbox.faults import FAULTS_ENV

ROOT = Path(__file__).resolve().parent.parent
NORTHWIND = (ROOT / "accounts" / "northwind-mitel.yaml").read_text("utf-8")

# --- a schema "pattern" ends at the end of the value, as JSON Schema means it -----------
# Python's "$" also matches before a last newline: "northwind\n" was a valid slug, and
# an e-mail, an extension range or an environment variable's name could end in a newline
# that then starts a line of its own in a log, a PR comment or a shell loop.



@pytest.mark.parametrize(
    ("field", "line", "hostile"),
    [
        ("slug", "account: northwind", 'account: "northwind\\n"'),
        ("e-mail", "email: alice@northwind.example",
         'email: "alice@northwind.example\\n"'),
        ("markup", "markup: 15", 'markup: "15\\n"'),
    ],
)
def test_a_value_ending_in_a_newline_does_not_match_a_pattern(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, line: str, hostile: str
) -> None:
    monkeypatch.chdir(tmp_path)
    assert line in NORTHWIND, field
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "northwind.yaml").write_text(NORTHWIND.replace(line, hostile, 1))
    result = CliRunner().invoke(cli, ["validate", "accounts/northwind.yaml"])
    assert result.exit_code == 1, result.output
    assert "accounts/northwind.yaml:" in result.output
    assert "1 account valid" not in result.output


def test_schema_patterns_mean_what_json_schema_means() -> None:
    slug = pattern_search("^[a-z0-9][a-z0-9-]*$")
    assert slug("northwind") and not slug("northwind\n") and not slug("a\nb")
    money = pattern_search(r"^-?\d+\.\d{2}$")
    assert money("-12.34") and not money("\u0661\u0662.\u0663\u0664")  # Arabic-Indic
    assert not money("12.34\n")
    assert pattern_search("^[$]x$")("$x")  # "$" in a class is a dollar sign
    assert pattern_search(r"^a\$$")("a$") and not pattern_search(r"^a\$$")("a$\n")
    assert pattern_search(r"^[\d-]+$")("1-2") and not pattern_search(r"^[\d-]+$")("\u0661")


# --- a saved plan names one account: its slug, platform and external id are its file's ----


def _resign(data: dict[str, Any]) -> None:
    content = {k: v for k, v in data.items() if k != "digest"}
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    data["digest"] = "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("account", "northwind"),  # another account's slug: it crashed (KeyError)
        ("external_id", "CC-999999"),  # another customer: planned against its state
        ("platform", "ipecs-cloud"),
    ],
)
def test_a_saved_plan_entry_pointed_at_another_account_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, value: str
) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    ws = workspace(tmp_path, demo=("northwind-mitel", "contoso-c2t"))
    assert invoke(ws, "plan", "-o", "plans/plan.json").exit_code == 0
    data = json.loads((ws / "plans" / "plan.json").read_text())
    (entry,) = [a for a in data["accounts"] if a["account"] == "contoso"]
    entry[field] = value
    _resign(data)
    (ws / "plans" / "plan.json").write_text(json.dumps(data))
    box = open_sandbox(ws)
    try:
        start = world(box)
    finally:
        box.close()
    result = invoke(ws, "apply", "--auto-approve", "plans/plan.json")
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1].startswith(
        "error: plan does not match its files: it names account "), result.stderr
    assert "internal error" not in result.output
    box = open_sandbox(ws)
    try:
        assert world(box) == start  # nothing written, to any account
    finally:
        box.close()


# --- a full standard output is one line and exit 1, top-level options included ---------


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["-h"], ["plan", "--help"]])
def test_top_level_options_on_a_full_standard_output(tmp_path: Path, args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=tmp_path,
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr == "error: cannot write to standard output (No space left on device)\n"


# --- one platform account, one file: an id with blanks around it is not a second one -----


@pytest.mark.parametrize("hostile", ['"CC-104233 "', '" CC-104233"', '"CC-104233\\t"',
                                     '"CC-104233\\n"', '"CC-104233\\u00a0"'])
def test_an_external_id_with_blanks_around_it_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hostile: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "northwind.yaml").write_text(NORTHWIND)
    (tmp_path / "accounts" / "again.yaml").write_text(
        NORTHWIND.replace("account: northwind", "account: again", 1)
        .replace("external_id: CC-104233", f"external_id: {hostile}", 1))
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1, result.output
    assert "accounts/again.yaml:5:" in result.output, result.output
