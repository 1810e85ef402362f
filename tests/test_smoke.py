from __future__ import annotations

from click.testing import CliRunner

from reconciler.cli import cli


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "managed as code" in result.output


def test_a_usage_error_exits_1_because_2_means_changes() -> None:
    result = CliRunner().invoke(cli, ["plan", "--bogus"])
    assert result.exit_code == 1
    assert "No such option '--bogus'" in result.output
    assert "Traceback" not in result.output
