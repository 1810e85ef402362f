"""The documentation shows real output: it must not drift from what the code renders."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _undated(text: str) -> str:
    return re.sub(r"made \S+</sub>", "made …</sub>", text.strip())


def test_example_pr_comment_is_the_demo_plan_as_rendered() -> None:
    # tests/golden/demo.md is checked against the renderer by test_render_demo.py
    doc = (ROOT / "docs" / "example-pr-comment.md").read_text(encoding="utf-8")
    comment = doc.split("\n---\n", 1)[1]
    golden = (ROOT / "tests" / "golden" / "demo.md").read_text(encoding="utf-8")
    assert _undated(comment) == _undated(golden), (
        "docs/example-pr-comment.md is out of date: paste tests/golden/demo.md below its ---")


def test_readme_names_every_command_the_cli_has() -> None:
    from reconciler.cli import cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in cli.commands if f"`{name}" not in readme]
    assert missing == []


def test_every_help_ends_with_examples() -> None:
    import click

    from reconciler.cli import cli

    def walk(cmd: click.Command, path: list[str]) -> list[str]:
        text = cmd.get_help(click.Context(cmd, info_name=" ".join(path)))
        # the description's last paragraphs (before the options and commands lists), or
        # an epilog after the options
        tail = [*text.split("\nOptions:", 1)[0].strip().split("\n\n")[-2:],
                text.strip().split("\n\n")[-1]]
        missing = [] if any("Example" in p for p in tail) else [" ".join(path)]
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                missing += walk(sub, [*path, name])
        return missing

    assert walk(cli, ["reconciler"]) == []


def test_shell_completion_is_documented_and_works() -> None:
    import os
    import subprocess
    import sys

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert '_RECONCILER_COMPLETE=bash_source reconciler' in readme
    env = {**os.environ, "_RECONCILER_COMPLETE": "bash_complete", "COMP_WORDS": "reconciler pl",
           "COMP_CWORD": "1"}
    done = subprocess.run([sys.executable, "-c", "from reconciler.cli import main; main()"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert "plain,plan" in done.stdout.split(), done.stdout + done.stderr
