"""`reconciler changed`: which accounts a git change touches, in throw-away git repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.changed import NULL_SHA, GitError, changed_accounts, matrix
from reconciler.cli import cli


def account(slug: str, note: str = "") -> str:
    return f"account: {slug}\nplatform: mitel-connect\nexternal_id: X-{slug}\n# {note}\n"


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.root, check=True, capture_output=True,
                              text=True).stdout.strip()

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    for var, value in {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
                       "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}.items():
        monkeypatch.setenv(var, value)
    monkeypatch.chdir(tmp_path)
    r = Repo(tmp_path)
    r.write("accounts/alpha.yaml", account("alpha"))
    r.write("accounts/bravo.yaml", account("bravo"))
    r.write("accounts/charlie-file.yaml", account("charlie"))
    r.write("README.md", "demo\n")
    r.commit("base")
    return r


def rows(base: str = "main~1") -> list[tuple[str, str, str]]:
    return [(c.account, c.file, c.reason) for c in changed_accounts(base)]


def test_modified_file_is_listed_by_its_slug_not_its_file_name(repo: Repo) -> None:
    repo.write("accounts/charlie-file.yaml", account("charlie", "two more users"))
    repo.commit()
    assert rows() == [("charlie", "accounts/charlie-file.yaml", "modified")]


def test_added_file_is_listed(repo: Repo) -> None:
    repo.write("accounts/delta.yaml", account("delta"))
    repo.commit()
    assert rows() == [("delta", "accounts/delta.yaml", "added")]


def test_uncommitted_and_untracked_changes_count(repo: Repo) -> None:
    repo.write("accounts/alpha.yaml", account("alpha", "edited, not committed"))
    repo.write("accounts/echo.yaml", account("echo"))  # not even added
    assert rows("main") == [
        ("alpha", "accounts/alpha.yaml", "modified"),
        ("echo", "accounts/echo.yaml", "added"),
    ]


def test_deleted_file_is_reported_with_its_old_slug_but_never_planned(repo: Repo) -> None:
    repo.git("rm", "-q", "accounts/charlie-file.yaml")
    repo.commit()
    found = changed_accounts("main~1")
    assert [(c.account, c.file, c.reason, c.deleted) for c in found] == [
        ("charlie", "accounts/charlie-file.yaml", "deleted", True)
    ]
    assert matrix(found) == {"include": []}


def test_renamed_file_is_one_account_not_a_delete_and_an_add(repo: Repo) -> None:
    repo.git("mv", "accounts/bravo.yaml", "accounts/bravo-mitel.yaml")
    repo.commit()
    assert rows() == [("bravo", "accounts/bravo-mitel.yaml", "renamed from accounts/bravo.yaml")]


def test_renamed_file_with_a_new_slug_drops_the_old_account(repo: Repo) -> None:
    repo.git("rm", "-q", "accounts/bravo.yaml")
    repo.write("accounts/bravo2.yaml", account("bravo-two"))
    repo.commit()
    assert rows() == [
        ("bravo", "accounts/bravo.yaml", "deleted"),
        ("bravo-two", "accounts/bravo2.yaml", "added"),
    ]


@pytest.mark.parametrize("shared", ["pricebook.yaml", "reconciler.yaml"])
def test_shared_file_change_touches_every_account(repo: Repo, shared: str) -> None:
    repo.write(shared, "currency: USD\n")
    repo.write("accounts/alpha.yaml", account("alpha", "edited too"))
    repo.commit()
    found = changed_accounts("main~1", shared_files=("reconciler.yaml", "pricebook.yaml"))
    assert [(c.account, c.reason) for c in found] == [
        ("alpha", "modified"),
        ("bravo", f"{shared} changed"),
        ("charlie", f"{shared} changed"),
    ]


def test_files_outside_the_account_paths_do_not_count(repo: Repo) -> None:
    repo.write("README.md", "changed\n")
    repo.write("accounts/notes.txt", "not yaml\n")
    repo.write("pricebook.yaml", "currency: EUR\n")  # not named as shared: ignored
    repo.commit()
    assert rows() == []


def test_only_the_given_paths_are_considered(repo: Repo) -> None:
    repo.write("accounts/alpha.yaml", account("alpha", "x"))
    repo.write("accounts/bravo.yaml", account("bravo", "x"))
    repo.commit()
    found = changed_accounts("main~1", ["accounts/bravo.yaml"])
    assert [c.account for c in found] == ["bravo"]


def test_file_that_does_not_parse_is_listed_by_path_so_plan_fails_loudly(repo: Repo) -> None:
    repo.write("accounts/alpha.yaml", "account: [unclosed\n")
    repo.commit()
    assert rows() == [("accounts/alpha.yaml", "accounts/alpha.yaml", "modified")]


def test_changes_that_landed_on_the_base_meanwhile_are_not_this_branchs(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("accounts/alpha.yaml", account("alpha", "feature work"))
    repo.commit()
    repo.git("checkout", "-q", "main")
    repo.write("accounts/bravo.yaml", account("bravo", "merged elsewhere"))
    repo.commit()
    repo.git("checkout", "-q", "feature")
    assert rows("main") == [("alpha", "accounts/alpha.yaml", "modified")]


def test_first_push_null_sha_lists_every_account(repo: Repo) -> None:
    assert [c.account for c in changed_accounts(NULL_SHA)] == ["alpha", "bravo", "charlie"]


def test_paths_are_relative_to_the_current_directory(repo: Repo,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write("accounts/alpha.yaml", account("alpha", "x"))
    repo.commit()
    monkeypatch.chdir(repo.root / "accounts")
    assert [(c.account, c.file) for c in changed_accounts("main~1", ["."])] == [
        ("alpha", "alpha.yaml")
    ]


def test_unknown_ref_is_a_git_error_naming_the_ref(repo: Repo) -> None:
    with pytest.raises(GitError, match="unknown git ref 'origin/nope'"):
        changed_accounts("origin/nope")


# --------------------------------------------------------------------------- CLI


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["changed", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_json_is_exactly_a_github_matrix(repo: Repo) -> None:
    repo.write("accounts/alpha.yaml", account("alpha", "x"))
    repo.git("rm", "-q", "accounts/bravo.yaml")
    repo.commit()
    code, out, _ = run("--base", "main~1", "--format", "json")
    assert code == 0
    assert json.loads(out) == {"include": [{"account": "alpha", "file": "accounts/alpha.yaml"}]}


def test_cli_text_reports_deleted_files_and_files_format_skips_them(repo: Repo) -> None:
    repo.write("accounts/alpha.yaml", account("alpha", "x"))
    repo.git("rm", "-q", "accounts/bravo.yaml")
    repo.commit()
    code, out, _ = run("--base", "main~1")
    assert code == 0
    assert out.splitlines() == [
        "alpha  accounts/alpha.yaml  modified",
        "bravo  accounts/bravo.yaml  deleted: no longer managed, nothing changes on its platform",
    ]
    assert run("--base", "main~1", "--format", "files")[1] == "accounts/alpha.yaml\n"


def test_cli_pricebook_change_lists_every_account(repo: Repo) -> None:
    repo.write("pricebook.yaml", "currency: USD\n")
    repo.commit()
    code, out, _ = run("--base", "main~1", "--format", "files")
    assert (code, out.split()) == (0, ["accounts/alpha.yaml", "accounts/bravo.yaml",
                                       "accounts/charlie-file.yaml"])


def test_cli_nothing_changed_prints_an_empty_matrix_and_says_so(repo: Repo) -> None:
    code, out, err = run("--base", "main", "--format", "json")
    assert (code, out, err) == (0, '{"include":[]}\n', "no account changed since main\n")


def test_cli_all_lists_every_account_without_git(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "x.yaml").write_text(account("x-ray"))
    code, out, _ = run("--all", "--format", "json")
    assert (code, json.loads(out)) == (0, {"include": [{"account": "x-ray",
                                                        "file": "accounts/x.yaml"}]})


def test_cli_unknown_ref_is_one_line_and_exit_1(repo: Repo) -> None:
    code, out, err = run("--base", "origin/nope")
    assert code == 1
    assert out == ""
    assert err == ("error: unknown git ref 'origin/nope' (in CI, fetch the history: "
                   "actions/checkout with fetch-depth: 0)\n")


def test_cli_outside_a_repository_is_one_line_and_exit_1(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code, _, err = run("--base", "main")
    assert code == 1
    assert err == f"error: not a git repository: {tmp_path.resolve()}\n"


def test_cli_needs_base_or_all(repo: Repo) -> None:
    code, _, err = run()
    assert code == 1
    assert "give either --base REF or --all" in err


def test_cli_price_book_named_in_the_configuration_touches_every_account(repo: Repo) -> None:
    repo.write("reconciler.yaml", "pricebook: prices/partner.yaml\n")
    repo.write("prices/partner.yaml", "currency: USD\n")
    repo.commit()
    repo.write("prices/partner.yaml", "currency: EUR\n")
    repo.commit()
    code, out, _ = run("--base", "main~1")
    assert code == 0
    assert out.splitlines() == [
        "alpha    accounts/alpha.yaml         prices/partner.yaml changed",
        "bravo    accounts/bravo.yaml         prices/partner.yaml changed",
        "charlie  accounts/charlie-file.yaml  prices/partner.yaml changed",
    ]


def test_files_in_subfolders_are_not_accounts_as_for_every_other_command(repo: Repo) -> None:
    repo.write("accounts/archive/old.yaml", account("old"))
    repo.commit()
    assert rows() == []


# ------------------------------------------------------------- --max-jobs: shards


def with_users(slug: str, users: int) -> str:
    lines = [account(slug), "users:"] + [
        f"  - {{extension: {1000 + i}, name: U{i}, profile: standard}}" for i in range(users)
    ]
    return "\n".join(lines) + "\n"


def test_cli_max_jobs_groups_accounts_naming_their_files(repo: Repo) -> None:
    repo.write("accounts/alpha.yaml", with_users("alpha", 5))
    repo.write("accounts/bravo.yaml", with_users("bravo", 2))
    repo.write("accounts/charlie-file.yaml", with_users("charlie", 2))
    repo.git("rm", "-q", "--cached", "accounts/charlie-file.yaml")  # untracked: still counts
    repo.write("accounts/delta.yaml", with_users("delta", 1))
    code, out, _ = run("--base", "main", "--format", "json", "--max-jobs", "2")
    assert code == 0
    # weights are users + 1, largest first onto the lightest job: alpha (6) -> 1,
    # bravo (3) -> 2, charlie (3) -> 2, delta (2) -> 1 (6 against 6: the first job)
    assert json.loads(out) == {"include": [
        {"job": 1, "name": "1/2 alpha +1", "accounts": "alpha delta",
         "files": "accounts/alpha.yaml\naccounts/delta.yaml", "users": 6},
        {"job": 2, "name": "2/2 bravo +1", "accounts": "bravo charlie",
         "files": "accounts/bravo.yaml\naccounts/charlie-file.yaml", "users": 4},
    ]}


def test_shards_fit_githubs_limit_and_hold_every_account_once() -> None:
    from reconciler.changed import ChangedAccount, shards

    fleet = [ChangedAccount(f"acct-{i:04}", f"accounts/acct-{i:04}.yaml", "all accounts")
             for i in range(5000)]
    fleet.append(ChangedAccount("gone", "accounts/gone.yaml", "deleted", deleted=True))
    users = {c.file: (i * 37) % 500 for i, c in enumerate(fleet)}
    jobs = shards(fleet, 256, users.__getitem__)["include"]
    assert len(jobs) == 256
    files = [f for job in jobs for f in job["files"].split("\n")]
    assert sorted(files) == sorted(c.file for c in fleet if not c.deleted)  # once each
    loads = [sum(users[f] + 1 for f in job["files"].split("\n")) for job in jobs]
    # balanced: no job heavier than the ideal share plus the largest single account
    assert max(loads) <= sum(loads) / len(loads) + max(users.values()) + 1
    assert [job["job"] for job in jobs] == list(range(1, 257))
    assert sum(job["users"] for job in jobs) == sum(users[f] for f in files)


def test_fewer_accounts_than_jobs_is_one_job_each() -> None:
    from reconciler.changed import ChangedAccount, shards

    fleet = [ChangedAccount(s, f"accounts/{s}.yaml", "added") for s in ("b", "a")]
    jobs = shards(fleet, 256, lambda f: 0)["include"]
    assert [(j["name"], j["files"]) for j in jobs] == [
        ("1/2 a", "accounts/a.yaml"), ("2/2 b", "accounts/b.yaml")]


@pytest.mark.parametrize(("args", "message"), [
    (["--max-jobs", "257", "--format", "json"], "257 is not in the range 1<=x<=256"),
    (["--max-jobs", "0", "--format", "json"], "0 is not in the range 1<=x<=256"),
    (["--max-jobs", "4"], "--max-jobs groups a GitHub matrix: use it with --format json"),
])
def test_cli_max_jobs_outside_githubs_limit_or_without_json_is_refused(
    repo: Repo, args: list[str], message: str
) -> None:
    code, out, err = run("--base", "main", *args)
    assert (code, out) == (1, "")
    assert message in err


@pytest.mark.parametrize("bad", ["accounts/a b.yaml", "accounts/$(touch pwned).yaml",
                                 "accounts/ü.yaml", "accounts/-rf.yaml"])
def test_renaming_or_deleting_a_file_with_a_refused_name_is_not_refused(
    repo: Repo, bad: str
) -> None:
    """The error says "rename it": before, the pull request doing so was refused too (its
    deleted old name was checked), so the fix could never be planned or applied."""
    repo.write(bad, account("hotel"))
    repo.write("accounts/india.yaml", account("india"))
    repo.commit("a file CI refuses")
    repo.git("mv", "--", bad, "accounts/hotel.yaml")
    repo.git("rm", "-q", "accounts/india.yaml")
    repo.commit("renamed as asked")
    shown = "accounts/" + {"accounts/a b.yaml": "a%20b.yaml",
                           "accounts/$(touch pwned).yaml": "%24%28touch%20pwned%29.yaml",
                           "accounts/ü.yaml": "%C3%BC.yaml",
                           "accounts/-rf.yaml": "-rf.yaml"}[bad]
    assert rows() == [
        ("hotel", "accounts/hotel.yaml", f"renamed from {shown}"),
        ("india", "accounts/india.yaml", "deleted"),
    ]
    repo.git("rm", "-q", "accounts/hotel.yaml")
    repo.write(bad, account("hotel"))  # back to the bad name: refused, as any new file
    result = CliRunner().invoke(cli, ["changed", "--base", "main", "--format", "json",
                                      "--max-jobs", "4"])
    assert result.exit_code == 1 and result.stdout == ""
    # a deleted file with a refused name is shown escaped: no blank, nothing a shell reads
    repo.git("rm", "-q", "--cached", "--ignore-unmatch", "--", bad)
    (repo.root / bad).unlink()
    repo.commit("gone")
    repo.write(bad, account("juliet"))
    repo.commit("bad again")
    repo.git("rm", "-q", "--", bad)
    repo.commit("deleted")
    text = CliRunner().invoke(cli, ["changed", "--base", "main~1"])
    assert text.exit_code == 0, text.output
    assert text.stdout == (
        f"juliet  {shown}  deleted: no longer managed, nothing changes on its platform\n"
    )
    as_json = CliRunner().invoke(cli, ["changed", "--base", "main~1", "--format", "json",
                                       "--max-jobs", "4"])
    assert json.loads(as_json.stdout) == {"include": []}


def test_cli_max_jobs_one_job_none_changed_and_more_jobs_than_accounts(repo: Repo) -> None:
    repo.write("accounts/alpha.yaml", with_users("alpha", 3))
    repo.write("accounts/bravo.yaml", with_users("bravo", 1))
    code, out, _ = run("--base", "main", "--format", "json", "--max-jobs", "1")
    assert code == 0
    assert json.loads(out) == {"include": [
        {"job": 1, "name": "1/1 alpha +1", "accounts": "alpha bravo",
         "files": "accounts/alpha.yaml\naccounts/bravo.yaml", "users": 4}]}
    code, out, _ = run("--base", "main", "--format", "json", "--max-jobs", "256")
    assert [j["name"] for j in json.loads(out)["include"]] == ["1/2 alpha", "2/2 bravo"]
    repo.commit()
    # nothing changed: an empty list, which the workflows test before making a matrix
    # (`if: fromJSON(...).include[0] != null`): GitHub refuses an empty matrix
    code, out, err = run("--base", "main", "--format", "json", "--max-jobs", "256")
    assert (code, out, err) == (0, '{"include":[]}\n', "no account changed since main\n")


def test_cli_warns_when_github_would_refuse_the_matrix(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.cli import changed_cmd

    monkeypatch.setattr(changed_cmd, "GITHUB_MAX_JOBS", 2)
    monkeypatch.setattr(changed_cmd, "GITHUB_MAX_OUTPUT", 100)
    code, out, err = run("--all", "--format", "json")
    assert code == 0 and len(json.loads(out)["include"]) == 3
    assert err.splitlines() == [
        "warning: 3 jobs: a GitHub Actions matrix runs at most 2; group the accounts with "
        "--max-jobs 2",
        f"warning: the matrix is {len(out) - 1} bytes: a GitHub Actions job output holds at "
        "most 100; split the fleet over several account folders, each with its own workflow "
        "(reconciler changed --base REF FOLDER)",
    ]
    code, out, err = run("--all", "--format", "json", "--max-jobs", "2")
    assert len(json.loads(out)["include"]) == 2 and "at most 2;" not in err


def test_shards_read_each_file_once() -> None:
    """Counting users parses the file: before, every file was parsed twice (its weight,
    then its job's total), a third of `changed --max-jobs` on a 5,000-account fleet."""
    from collections import Counter

    from reconciler.changed import ChangedAccount, shards

    fleet = [ChangedAccount(f"a{i}", f"accounts/a{i}.yaml", "added") for i in range(40)]
    asked: Counter[str] = Counter()

    def users(file: str) -> int:
        asked[file] += 1
        return len(file)

    jobs = shards(fleet, 7, users)["include"]
    assert set(asked.values()) == {1} and len(asked) == 40
    assert sum(j["users"] for j in jobs) == sum(len(c.file) for c in fleet)
