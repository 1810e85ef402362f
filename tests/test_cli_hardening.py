"""Inputs a user can type that must end in one clear line, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.errors import InputError
from reconciler.model import Mark


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECONCILER_SANDBOX_FAULTS", raising=False)
    return tmp_path


def test_a_newline_or_terminal_escape_from_a_file_stays_on_one_line() -> None:
    err = InputError('unknown profile type "std\nerr\x1b[31m"', Mark("a.yaml", 6, 14))
    assert str(err) == 'a.yaml:6:14: unknown profile type "std\\nerr\\x1b[31m"'


def test_advance_clock_beyond_ten_years_is_a_usage_error(here: Path) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "advance-clock", "3000000"])
    assert result.exit_code == 1
    assert "3000000 is not in the range 0<=x<=3650" in result.output
    assert "Traceback" not in result.output


def test_add_account_refuses_an_empty_external_id(here: Path) -> None:
    result = CliRunner().invoke(
        cli, ["sandbox", "add-account", "--platform", "ipecs-cloud", "--external-id", ""])
    assert result.exit_code == 1
    assert result.output == ("error: --external-id '': give the platform's account id, "
                             "without surrounding spaces\n")


def test_output_piped_into_a_reader_that_left_ends_quietly(here: Path) -> None:
    run = subprocess.run(
        f"{sys.executable} -m reconciler sandbox show | true",
        shell=True, capture_output=True, text=True, cwd=here, timeout=60,
    )
    assert run.stderr == ""  # no BrokenPipeError, no "internal error"
