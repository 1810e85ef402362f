"""The platform registry (reconciler/platforms/) is the one place a platform is described:
adding a platform is one package and one registry entry, nothing elsewhere."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from reconciler.platforms import PLATFORMS

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "reconciler"
#: the platform packages describe themselves; the sandbox simulates those three platforms
#: and states their rules on its own (it is one provider, not part of the core)
ALLOWED = (PACKAGE / "platforms", PACKAGE / "sandbox")


def _platform_literals(path: Path) -> list[str]:
    """``file:line "name"`` for each string constant that is a platform's name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in PLATFORMS
    ]


def test_no_core_module_names_a_platform() -> None:
    found = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(path.is_relative_to(a) for a in ALLOWED)
        for hit in _platform_literals(path)
    ]
    assert found == []


def test_no_core_module_keeps_a_per_platform_table() -> None:
    """The facts once kept in tables beside the registry are on the Platform record."""
    gone = ("POOL_FIELD", "_COMPLETE", "_PRODUCTS_HEADING", "_LICENCES_COMMENT", "_LABEL",
            "_product_word", "ROLE_ENV")
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(PACKAGE / "platforms"):
            continue
        names = {
            t.id
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, (ast.Assign, ast.FunctionDef))
            for t in (node.targets if isinstance(node, ast.Assign) else [ast.Name(node.name)])
            if isinstance(t, ast.Name)
        }
        assert not names & set(gone), path


def test_the_schemas_list_the_registry_platforms() -> None:
    """The JSON schemas (for editors) repeat the registry's names, in its order."""
    schemas = ROOT / "schemas"
    account = json.loads((schemas / "account.schema.json").read_text())
    plan = json.loads((schemas / "plan.schema.json").read_text())
    config = json.loads((schemas / "config.schema.json").read_text())
    pricebook = json.loads((schemas / "pricebook.schema.json").read_text())
    names = list(PLATFORMS)
    assert account["properties"]["platform"]["enum"] == names
    plan_platform = plan["$defs"]["account"]["properties"]["platform"]["enum"]
    assert plan_platform == names
    assert list(config["properties"]["providers"]["properties"]) == names
    assert list(pricebook["properties"]["platforms"]["properties"]) == names


def test_every_platform_record_is_complete() -> None:
    for name, platform in PLATFORMS.items():
        assert platform.name == name
        assert platform.catalog.platform == name
        assert platform.user_fields and platform.product_noun and platform.products_heading
        assert platform.pool_field is None or platform.pool_field in platform.user_fields
        assert (platform.default_role is None) == (not platform.roles)
        # the parts named by "module:attribute" are there (a typo fails here, not in a run)
        assert callable(platform.validate) and callable(platform.planner)
        assert platform.complete is None or callable(platform.complete)
        assert platform.portal is None or platform.portal.sheets


def test_the_registry_loads_a_platforms_parts_on_first_use() -> None:
    """Loading the registry loads the catalogs only: the planner, rules and portal of a
    platform are imported when a run first uses them, and only that platform's."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from reconciler.platforms import PLATFORMS\n"
        "def parts():\n"
        "    return sorted(m for m in sys.modules if m.startswith('reconciler.platforms.')\n"
        "                  and m.rsplit('.', 1)[1] in ('planner', 'rules', 'portal', 'runbook')\n"
        "                  or m.startswith('reconciler.portal'))\n"
        "print(parts())\n"
        "PLATFORMS['mitel-connect'].planner\n"
        "print(parts())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    before, after = out.stdout.splitlines()
    assert before == "[]"
    assert after == "['reconciler.platforms.mitel.planner']"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_no_core_module_imports_the_sandbox() -> None:
    """The sandbox is one provider: only its own package and its operator commands
    (``reconciler sandbox ...``) import it; the core reaches it through PROVIDER_KINDS."""
    own = (PACKAGE / "sandbox", PACKAGE / "cli" / "sandbox_cmd.py")
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(path == o or path.is_relative_to(o) for o in own)
        and any(n == "reconciler.sandbox" or n.startswith("reconciler.sandbox.")
                for n in _imports(path))
    ]
    assert offenders == []


def test_provider_kinds_are_imported_on_use() -> None:
    """Loading the CLI and planning code does not load any provider's package."""
    import subprocess
    import sys

    code = (
        "import sys, reconciler.cli, reconciler.planner, reconciler.apply, reconciler.connect;"
        "print(sorted(m for m in sys.modules if m.startswith('reconciler.sandbox')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_the_sandbox_states_the_platforms_rules_itself() -> None:
    """Only the sandbox's price list (core.py: the catalogs' prices and names) comes from
    the platform packages; no rule does (reconciler/sandbox/rules.py)."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((PACKAGE / "sandbox").rglob("*.py"))
        if path.name != "core.py"
        and any(n.startswith("reconciler.platforms") for n in _imports(path))
    ]
    assert offenders == []
