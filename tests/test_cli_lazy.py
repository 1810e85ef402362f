"""Fast start: `reconciler --help` and the small commands import no command module they do
not run, nor the schema validator or the templates; the help lines shown without
importing a command are that command's own."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli import COMMANDS, cli


def modules_after(*argv: str, cwd: Path | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running ``reconciler ARGV`` in ``cwd``."""
    code = (
        "import sys, json\n"
        "from reconciler.cli import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False, timeout=60, cwd=cwd, env=env)
    return set(json.loads(out.stderr.strip().splitlines()[-1]))


def test_help_lines_are_each_commands_own() -> None:
    seen = {}
    for name, (module, help_line) in COMMANDS.items():
        commands = {c.name: c for c in importlib.import_module(module).COMMANDS}
        assert name in commands, f"{module} has no command {name}"
        seen[name] = commands[name].get_short_help_str(limit=1000)
        assert seen[name] == help_line, name
    # and every command a module registers is in the table
    for module in {m for m, _ in COMMANDS.values()}:
        for command in importlib.import_module(module).COMMANDS:
            assert command.name in COMMANDS, f"{command.name} of {module} is not in COMMANDS"


def test_help_imports_no_command_nor_the_heavy_libraries() -> None:
    loaded = modules_after("--help")
    assert not {m for m in loaded if m.endswith("_cmd")}
    for heavy in ("jsonschema", "jinja2", "reconciler.planner", "reconciler.apply", "psycopg"):
        assert heavy not in loaded, heavy


@pytest.mark.parametrize(("argv", "not_loaded"), [
    (("changed", "--help"), ("jsonschema", "jinja2", "reconciler.planner", "psycopg")),
    (("catalog", "--help"), ("jsonschema", "jinja2", "reconciler.planner", "psycopg")),
    (("validate", "--help"), ("jsonschema", "jinja2", "reconciler.planner", "psycopg")),
    (("state", "--help"), ("jsonschema", "jinja2", "reconciler.planner", "psycopg")),
])
def test_a_small_command_loads_only_what_it_needs(
    argv: tuple[str, ...], not_loaded: tuple[str, ...]
) -> None:
    loaded = modules_after(*argv)
    for heavy in not_loaded:
        assert heavy not in loaded, (argv, heavy)


def test_every_command_is_listed_in_help() -> None:
    from click.testing import CliRunner

    out = CliRunner().invoke(cli, ["--help"]).output
    listed = [line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == sorted(COMMANDS)


#: what no small command may load: apply and the planner, the schema validator, the
#: templates, the HTTP client and server, PostgreSQL's driver, the spreadsheet reader
HEAVY = ("reconciler.apply", "reconciler.planner", "jsonschema", "jinja2", "httpx",
         "psycopg", "openpyxl", "starlette")
DEMO = Path(__file__).resolve().parent.parent / "accounts"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The demo accounts and a migrated SQLite state store."""
    shutil.copytree(DEMO, tmp_path / "accounts")
    modules_after("state", "migrate", cwd=tmp_path)
    assert (tmp_path / ".reconciler" / "state.db").is_file()
    return tmp_path


@pytest.mark.parametrize("argv", [
    ("history",),
    ("history", "--format", "json"),
    ("unlock", "northwind-mitel"),  # not locked: looks the slug up in the account files
])
def test_history_and_unlock_load_neither_apply_nor_heavy_libraries(
    project: Path, argv: tuple[str, ...]
) -> None:
    loaded = modules_after(*argv, cwd=project)
    assert "reconciler.stores.sqlite" in loaded  # the store was really read
    assert not {m for m in loaded if m.endswith("_cmd")} - {"reconciler.cli.history_cmd"}
    for heavy in HEAVY:
        assert not {m for m in loaded if m == heavy or m.startswith(heavy + ".")}, (argv, heavy)
