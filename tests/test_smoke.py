from __future__ import annotations

from click.testing import CliRunner

from reconciler.cli import cli


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "managed as code" in result.output
