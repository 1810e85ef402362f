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


def run_fresh(*argv: str, cwd: Path | None = None) -> tuple[set[str], int]:
    """The modules a fresh interpreter holds after running ``reconciler ARGV`` in ``cwd``,
    and the command's exit code."""
    code = (
        "import sys, json\n"
        "from reconciler.cli import main\n"
        "rc = None\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit as e:\n"
        "    rc = e.code\n"
        "print(json.dumps([rc, sorted(sys.modules)]), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False, timeout=60, cwd=cwd, env=env)
    rc, modules = json.loads(out.stderr.strip().splitlines()[-1])
    return set(modules), rc


def modules_after(*argv: str, cwd: Path | None = None) -> set[str]:
    return run_fresh(*argv, cwd=cwd)[0]


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


def _loaded(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo accounts committed to git, a migrated SQLite state store, a saved plan."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(DEMO, root / "accounts")
    for git in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "accounts"]):
        subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                        *git], check=True, capture_output=True, timeout=60)
    assert run_fresh("state", "migrate", cwd=root)[1] == 0
    assert run_fresh("plan", "accounts/northwind-mitel.yaml", "-o", "plans/plan.json",
                     cwd=root)[1] in (0, 2)
    assert (root / ".reconciler" / "state.db").is_file()
    assert (root / "plans" / "plan.json").is_file()
    return root


#: the small commands (issue 12: under 0.15 s of CPU), as a user runs them, with what
#: each may load beyond the core: its own command module, and the libraries it needs
SMALL: list[tuple[tuple[str, ...], int, tuple[str, ...]]] = [
    (("--help",), 0, ()),
    (("--version",), 0, ()),
    # (plan_cmd loads the renderers, so its three commands' help loads jinja2)
    *(((name, "--help"), 0, (module,)) for name, (module, _) in sorted(COMMANDS.items())
      if module not in ("reconciler.cli.plan_cmd", "reconciler.cli.apply_cmd")),
    # apply's own module (its settings), not the planner, the session nor the templates
    (("apply", "--help"), 0, ("reconciler.cli.apply_cmd", "reconciler.apply")),
    (("provider", "check", "--help"), 0, ("reconciler.cli.provider_cmd",)),
    (("catalog",), 0, ("reconciler.cli.catalog_cmd",)),
    (("changed", "--base", "HEAD"), 0, ("reconciler.cli.changed_cmd",)),
    (("validate", "accounts/northwind-mitel.yaml"), 0, ("reconciler.cli.validate_cmd",)),
    (("history",), 0, ("reconciler.cli.history_cmd",)),
    (("history", "--format", "json"), 0, ("reconciler.cli.history_cmd",)),
    # not locked: the slug is looked up in the account files, then the one-line error
    (("unlock", "northwind-mitel"), 1, ("reconciler.cli.history_cmd",)),
    (("state", "migrate"), 0, ("reconciler.cli.state_cmd",)),
    (("show", "plans/plan.json"), 0, ("reconciler.cli.plan_cmd", "jinja2")),
]


@pytest.mark.parametrize(("argv", "code", "allowed"), SMALL, ids=[" ".join(a) for a, _, _ in SMALL])
def test_a_small_command_loads_no_other_command_nor_heavy_library(
    project: Path, argv: tuple[str, ...], code: int, allowed: tuple[str, ...]
) -> None:
    loaded, rc = run_fresh(*argv, cwd=project)
    assert rc == code, argv  # it really ran
    commands = {m for m in loaded if m.endswith("_cmd")}
    assert commands <= {a for a in allowed if a.endswith("_cmd")}, argv
    for heavy in HEAVY:
        assert heavy in allowed or not _loaded(loaded, heavy), (argv, heavy)
    if argv[0] in ("history", "unlock", "state") and "--help" not in argv:
        assert "reconciler.stores.sqlite" in loaded  # the store was really opened


def test_planning_one_account_loads_only_its_platforms_parts(project: Path) -> None:
    """The registry resolves a platform's planner and rules, and the sandbox its
    simulation, on first use: planning a Mitel account loads no other platform's, no
    portal, nor apply or the libraries only other commands need."""
    loaded, rc = run_fresh("plan", "accounts/northwind-mitel.yaml", cwd=project)
    assert rc in (0, 2)
    assert {"reconciler.platforms.mitel.planner", "reconciler.platforms.mitel.rules",
            "reconciler.sandbox.mitel"} <= loaded
    for other in ("reconciler.platforms.ipecs.planner", "reconciler.platforms.ipecs.rules",
                  "reconciler.platforms.call2teams.planner", "reconciler.sandbox.ipecs",
                  "reconciler.sandbox.call2teams", "reconciler.sandbox.demo",
                  "reconciler.portal", "reconciler.apply", "jsonschema", "httpx", "psycopg",
                  "openpyxl", "starlette"):
        assert not _loaded(loaded, other), other


def test_show_reads_the_saved_plan_without_the_account_loader(project: Path) -> None:
    """A saved plan is JSON: show loads neither the YAML loader nor the account files'
    schema, nor any planner (resolving the plan's base ref is a git call)."""
    loaded, rc = run_fresh("show", "plans/plan.json", cwd=project)
    assert rc == 0
    for module in ("yaml", "reconciler.yamlload", "reconciler.accounts", "reconciler.schema",
                   "reconciler.platforms.mitel.planner"):
        assert not _loaded(loaded, module), module


@pytest.mark.parametrize("argv", [("history",), ("state", "migrate")])
def test_without_a_configuration_file_no_yaml_loader_is_loaded(
    project: Path, argv: tuple[str, ...]
) -> None:
    """No reconciler.yaml (the demo layout): the defaults need no loader nor schema."""
    assert not (project / "reconciler.yaml").exists()
    loaded, rc = run_fresh(*argv, cwd=project)
    assert rc == 0
    assert not _loaded(loaded, "yaml") and not _loaded(loaded, "reconciler.schema")
