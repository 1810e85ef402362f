"""validate reports every YAML-level error of every file in one run, each quoting what
the user wrote: two octals and a `name: yes` are three lines of one run, not three runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

ALPHA = """\
account: alpha
platform: mitel-connect
external_id: CC-1
name: yes
users:
  - extension: 01001
    name: Ann
    profile: standard
  - extension: 01002
    name: on
    profile: standard
"""

BETA = """\
account: beta
platform: ipecs-cloud
external_id: 0102
name: Beta
name: Beta again
sites:
  Beta: {extensions: "100-299"}
users:
  - extension: 0x65
    name: Bob
    site: Beta
    profile: Basic User With VM
"""

# an octal before a syntax error: both reported
GAMMA = """\
account: gamma
platform: mitel-connect
external_id: CC-3
name: Gamma
users:
  - extension: 01003
    name: [Gina
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "alpha.yaml").write_text(ALPHA)
    (tmp_path / "accounts" / "beta.yaml").write_text(BETA)
    (tmp_path / "accounts" / "gamma.yaml").write_text(GAMMA)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_yaml_error_of_every_file_in_one_run(project: Path) -> None:
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        'accounts/alpha.yaml:4:7: name must be a string, found true (YAML reads yes as true); '
        'quote it: "yes"',
        'accounts/alpha.yaml:6:16: "01001" is an octal number in YAML (513); write 1001, or '
        'quote it if it is text',
        'accounts/alpha.yaml:9:16: "01002" is an octal number in YAML (514); write 1002, or '
        'quote it if it is text',
        'accounts/alpha.yaml:10:11: name must be a string, found true (YAML reads on as true); '
        'quote it: "on"',
    ]
    assert 'accounts/beta.yaml:3:14: external_id must be a string, found 66 (YAML reads 0102 ' \
           'as 66); quote it: "0102"' in lines
    assert 'accounts/beta.yaml:5:1: duplicate key "name" (first defined at line 4)' in lines
    assert any(line.startswith('accounts/beta.yaml:9:16: "0x65" is read by YAML as the number '
                               '101') for line in lines)
    gamma = [line for line in lines if line.startswith("accounts/gamma.yaml")]
    assert gamma[0].startswith('accounts/gamma.yaml:6:16: "01003" is an octal number')
    assert len(gamma) == 2  # and the unclosed bracket after it
    assert "True" not in result.stdout
    assert "Traceback" not in result.output


def test_the_json_format_lists_them_all_too(project: Path) -> None:
    import json

    result = CliRunner().invoke(cli, ["validate", "--format", "json"])
    data = json.loads(result.stdout)
    assert data["valid"] is False
    files = [e["file"] for e in data["errors"]]
    assert files.count("accounts/alpha.yaml") == 4 and files.count("accounts/beta.yaml") >= 3


def test_a_pricebook_reports_all_its_yaml_errors_in_one_run(project: Path) -> None:
    (project / "reconciler.yaml").write_text("pricebook: pricebook.yaml\n")
    (project / "pricebook.yaml").write_text(
        "currency: USD\ncurrency: EUR\nplatforms:\n  mitel-connect:\n"
        "    products:\n      standard: {monthly: 0300}\n")
    result = CliRunner().invoke(cli, ["validate"])
    out = result.stdout
    assert 'pricebook.yaml:2:1: duplicate key "currency" (first defined at line 1)' in out, out
    assert 'pricebook.yaml:6:27: "0300" is an octal number in YAML (192)' in out, out
    assert "accounts/alpha.yaml:4:7:" in out  # the account files in the same run
