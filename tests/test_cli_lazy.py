"""Fast start: `reconciler --help` and the small commands import no command module they do
not run, nor the schema validator or the templates; the help lines shown without
importing a command are that command's own."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from reconciler.cli import COMMANDS, cli


def modules_after(*argv: str) -> set[str]:
    code = (
        "import sys, json\n"
        "from reconciler.cli import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False, timeout=60)
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
