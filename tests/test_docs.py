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
