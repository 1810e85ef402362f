"""Every bad input of issue 2: `reconciler validate` exits 1 with exactly one line
``file:line:col: message``, no traceback, in under 2 s.

Each directory under tests/cases/ is a small repository named after what it triggers:
``accounts/`` (and maybe ``reconciler.yaml`` / ``pricebook.yaml``), ``expected.txt`` (the
exact stdout) and optionally ``args.txt`` (arguments after ``validate``, one per line).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

CASES = Path(__file__).parent / "cases"
ALL = sorted(p.name for p in CASES.iterdir() if p.is_dir())

#: The bad-input list of issue 2, each with its own case directory.
REQUIRED = {
    "yaml-syntax-error",
    "tab-indentation",
    "unclosed-quote",
    "duplicate-key",
    "unknown-field",
    "wrong-type-extension",
    "wrong-type-licences",
    "unknown-platform",
    "unknown-profile-type",
    "unknown-package",
    "unknown-sku",
    "unknown-add-on",
    "add-on-not-available",
    "extension-outside-site",
    "site-not-declared",
    "duplicate-extension",
    "renumbered-from-in-use",
    "duplicate-slug",
    "duplicate-external-id",
    "licence-count-too-low",
    "internal-sku-on-client",
    "internal-user-on-client",
    "empty-file",
    "top-level-list",
    "non-utf8-bytes",
    "deep-nesting",
    "alias-bomb",
    "slug-with-path-characters",
    "not-a-yaml-file",
}


def test_every_case_of_the_issue_has_a_directory() -> None:
    assert set(ALL) >= REQUIRED, sorted(REQUIRED - set(ALL))


@pytest.mark.parametrize("case", ALL)
def test_bad_input(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = CASES / case
    monkeypatch.chdir(directory)
    args_file = directory / "args.txt"
    args = args_file.read_text().split() if args_file.exists() else []
    expected = (directory / "expected.txt").read_text()

    start = time.monotonic()
    result = CliRunner().invoke(cli, ["validate", *args])
    elapsed = time.monotonic() - start

    assert result.exit_code == 1, result.output
    assert result.stdout == expected
    assert len(expected.splitlines()) == 1
    assert result.stderr == "1 error in 1 file\n"
    assert "Traceback" not in result.output
    assert elapsed < 2


def test_the_named_file_and_position_are_in_every_line() -> None:
    for case in ALL:
        line = (CASES / case / "expected.txt").read_text().strip()
        location, _, message = line.partition(": ")
        assert message, case
        assert location.split(":")[0].endswith((".yaml", ".yml", ".txt")), case
