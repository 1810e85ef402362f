"""`reconciler validate`: the demo accounts, output formats, and many errors in one run."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli

REPO = Path(__file__).parent.parent

MITEL = 'account: {slug}\nplatform: mitel-connect\nexternal_id: "{id}"\n'


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["validate", *args])


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "accounts").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_demo_accounts_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = run()
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == "4 accounts valid\n"


def test_demo_accounts_start_with_the_schema_line() -> None:
    for path in sorted((REPO / "accounts").glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/account.schema.json", path


def test_one_named_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = run("accounts/vertical-demo.yaml")
    assert result.exit_code == 0
    assert result.stderr == "1 account valid\n"


def test_all_errors_of_all_files_in_one_run(repo: Path) -> None:
    write(
        repo,
        "accounts/a.yaml",
        MITEL.format(slug="a", id="1")
        + "users:\n  - {extension: 1, profil: standard}\n  - {extension: x}\n",
    )
    write(repo, "accounts/b.yaml", "account: b\nplatform: mitel\nexternal_id: '2'\n")
    write(repo, "accounts/c.yaml", MITEL.format(slug="c", id="3"))
    result = run()
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        'accounts/a.yaml:5:20: unknown field "profil" (did you mean "profile"?)',
        'accounts/a.yaml:6:17: extension must be an integer, found "x"',
        'accounts/b.yaml:2:11: unknown platform "mitel"; expected one of: '
        "mitel-connect, ipecs-cloud, call2teams",
    ]
    assert result.stderr == "3 errors in 2 files\n"


def test_github_format(repo: Path) -> None:
    write(
        repo,
        "accounts/a.yaml",
        MITEL.format(slug="a", id="1") + "users:\n  - {extension: 1, profile: standrd}\n",
    )
    result = run("--format", "github")
    assert result.exit_code == 1
    assert result.stdout == (
        "::error file=accounts/a.yaml,line=5,col=29::"
        'unknown profile type "standrd" (did you mean "standard"?)\n'
    )


def test_github_format_escapes_what_would_break_the_command(repo: Path) -> None:
    # (an account file's own name is plain; the directory it is in is the operator's)
    write(repo, "acc,ounts/a.yaml", MITEL.format(slug="a", id="1") + "name: ''\n")
    result = run("--format", "github", "acc,ounts")
    assert (
        result.stdout == "::error file=acc%2Counts/a.yaml,line=4,col=7::name must not be empty\n"
    )


def test_json_format(repo: Path) -> None:
    write(repo, "accounts/a.yaml", MITEL.format(slug="a", id="1") + "licences: {standard: 2}\n")
    (repo / "accounts" / "notes.md").write_text("x")
    result = run("--format", "json", "accounts", "accounts/notes.md", "missing.yaml")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "valid": False,
        "errors": [
            {
                "file": "accounts/a.yaml",
                "line": 4,
                "col": 1,
                "message": "licences are not used on Mitel Connect CLOUD: each user's profile "
                "type is billed per user; remove licences and set profile: on the users",
            },
            {
                "file": "accounts/notes.md",
                "line": 1,
                "col": 1,
                "message": "not an account file: account files end in .yaml or .yml",
            },
            {
                "file": "missing.yaml",
                "line": None,
                "col": None,
                "message": "no such file or directory",
            },
        ],
    }


def test_json_format_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = run("--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"valid": True, "errors": []}


def test_empty_accounts_directory_is_an_error(repo: Path) -> None:
    result = run()
    assert result.exit_code == 1
    assert result.stdout == "accounts: no account files (*.yaml, *.yml) in this directory\n"


def test_config_and_pricebook_errors_are_reported_with_the_accounts(repo: Path) -> None:
    write(repo, "accounts/a.yaml", MITEL.format(slug="a", id="1") + "kind: clients\n")
    write(repo, "reconciler.yaml", "pricebook: prices/book.yaml\n")
    write(
        repo,
        "prices/book.yaml",
        "platforms:\n  call2teams:\n    add_ons:\n      fax: {monthly: 1}\n",
    )
    result = run()
    assert result.stdout.splitlines() == [
        'accounts/a.yaml:4:7: unknown kind "clients" (did you mean "client"?)',
        'prices/book.yaml:4:7: unknown add-on "fax"; Call2Teams has no add-ons',
    ]


def test_200_files_of_50_users_validate_in_seconds(repo: Path) -> None:
    user = "  - {{extension: {e}, name: User {e}, email: u{e}@x.example, profile: standard}}\n"
    body = "".join(user.format(e=e) for e in range(100, 150))
    for i in range(200):
        write(repo, f"accounts/a{i:03d}.yaml", MITEL.format(slug=f"a{i}", id=i) + "users:\n" + body)
    start = time.monotonic()
    result = run()
    assert result.exit_code == 0, result.output
    assert result.stderr == "200 accounts valid\n"
    assert time.monotonic() - start < 10


def test_demo_copies_with_the_same_slug_name_both_files(repo: Path) -> None:
    shutil.copy(REPO / "accounts" / "northwind-mitel.yaml", repo / "accounts" / "a.yaml")
    shutil.copy(REPO / "accounts" / "northwind-mitel.yaml", repo / "accounts" / "b.yaml")
    result = run()
    assert result.stdout.splitlines() == [
        'accounts/b.yaml:3:10: account "northwind" is already defined in accounts/a.yaml:3:10; '
        "slugs must be unique, rename one of them",
        'accounts/b.yaml:5:14: external_id "CC-104233" is already used by account "northwind" '
        "in accounts/a.yaml:5:14; each platform account has exactly one file",
    ]


def test_help_ends_with_examples() -> None:
    result = CliRunner().invoke(cli, ["validate", "--help"])
    assert result.exit_code == 0
    assert (
        result.output.rstrip().splitlines()[-1].strip()
        == "reconciler validate --format json | jq .errors"
    )
