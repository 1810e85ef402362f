"""Secrets and files: no environment variable's value is ever printed; an account file
that links outside the repository is refused unread; ``-o`` writes only regular files,
leaves no temporary file behind, and a write that fails (to a file or to standard output)
is one line and exit 1 — for every command."""

from __future__ import annotations

import os
import re
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import reconciler.accounts as accounts_module
from reconciler.cli import cli
from reconciler.envvars import EnvValue, env_value
from reconciler.errors import OutputError
from reconciler.outfile import write_file

ROOT = Path(__file__).resolve().parents[1]
SECRET = "tok-3f9Q-very-secret-value"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository (``.git``) with the demo accounts and its own sandbox and state."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".git").mkdir()
    (repo / "accounts").mkdir()
    for name in ("northwind-mitel.yaml", "vertical-demo.yaml"):
        (repo / "accounts" / name).write_text((ROOT / "accounts" / name).read_text())
    (repo / "reconciler.yaml").write_text(
        "sandbox:\n  path: sandbox.db\nstate:\n  path: state.db\n")
    monkeypatch.chdir(repo)
    for var in ("RECONCILER_SANDBOX_FAULTS", "RECONCILER_MITEL_ROLE"):
        monkeypatch.delenv(var, raising=False)
    return repo


# ------------------------------------------------------------------ environment values


COMMANDS = [
    ["sandbox", "show"],
    ["plan"],
    ["drift"],
    ["apply", "--auto-approve"],
    ["import", "--platform", "mitel-connect", "--external-id", "CC-104233"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("how", ["role_env", "RECONCILER_MITEL_ROLE", "faults"])
def test_no_command_prints_an_environment_value(
    here: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], how: str
) -> None:
    monkeypatch.setenv("MITEL_API_TOKEN", SECRET)
    if how == "role_env":  # a careless (or hostile) config points the role at the token
        with (here / "reconciler.yaml").open("a") as fh:
            fh.write("providers:\n  mitel-connect:\n    kind: sandbox\n"
                     "    role_env: MITEL_API_TOKEN\n")
        named = "MITEL_API_TOKEN"
    elif how == "RECONCILER_MITEL_ROLE":
        monkeypatch.setenv("RECONCILER_MITEL_ROLE", SECRET)
        named = "RECONCILER_MITEL_ROLE"
    else:
        monkeypatch.setenv("RECONCILER_SANDBOX_FAULTS", f"transient={SECRET},seed=1")
        named = "RECONCILER_SANDBOX_FAULTS"
    code, output = run(*command)
    assert SECRET not in output and SECRET[4:12] not in output
    assert code == 1
    assert named in output  # the variable is named, so the user knows what to fix


def test_an_environment_value_prints_as_the_variables_name() -> None:
    value = env_value("TOKEN", {"TOKEN": SECRET})
    assert isinstance(value, EnvValue) and value.reveal() == SECRET
    for shown in (str(value), repr(value), f"{value}", f"{value:>20}", "%s" % (value,),  # noqa: UP031
                  repr([value]), str(RuntimeError(value))):
        assert SECRET not in shown and "$TOKEN" in shown
    assert env_value("TOKEN", {"TOKEN": ""}) is None and env_value("NOPE", {}) is None


def test_the_environment_is_read_only_through_envvars() -> None:
    # a new os.environ.get(...) elsewhere could end up in a message: go through
    # reconciler.envvars (EnvValue prints as its name); passing the environment on to a
    # child process (git) is the one other use
    offenders = []
    for path in sorted((ROOT / "reconciler").rglob("*.py")):
        if path.name == "envvars.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"os\.environ|os\.getenv|environ\.get", line) and not re.search(
                    r"env=\{\*\*os\.environ", line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


# ------------------------------------------------------------------ symbolic links


def outside_file(tmp_path: Path) -> Path:
    target = tmp_path / "elsewhere" / "shadow.yaml"
    target.parent.mkdir(exist_ok=True)
    target.write_text("root-secret-hash-line: x\naccount: stolen\n")
    return target


def test_an_account_file_linking_outside_the_repository_is_refused_unread(
    here: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = outside_file(tmp_path)
    (here / "accounts" / "evil.yaml").symlink_to(target)
    (here / "accounts" / "shadow.yaml").symlink_to("/etc/shadow")
    read: list[str] = []
    real_load = accounts_module.load_yaml
    monkeypatch.setattr(accounts_module, "load_yaml",
                        lambda path, **kw: read.append(str(path)) or real_load(path, **kw))
    root = os.path.realpath(here)
    for command in (["validate"], ["plan"], ["apply", "--auto-approve"],
                    ["validate", "accounts/evil.yaml"]):
        read.clear()
        code, output = run(*command)
        assert code == 1, output
        assert "root-secret-hash-line" not in output and "stolen" not in output
        assert (f"accounts/evil.yaml: a symbolic link to {os.path.realpath(target)}, outside "
                f"the repository ({root}): refused without reading it; account files live "
                "in the repository") in output.splitlines()
        assert not any("evil" in p or "shadow" in p for p in read)
        if command[-1] != "accounts/evil.yaml":
            assert "accounts/shadow.yaml: a symbolic link to /etc/shadow, outside" in output


def test_a_linked_accounts_directory_outside_the_repository_is_refused(
    here: Path, tmp_path: Path
) -> None:
    outside_file(tmp_path)
    (here / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    code, output = run("validate", "linked")
    assert code == 1 and "root-secret-hash-line" not in output
    assert "linked/shadow.yaml: a symbolic link to" in output


def test_a_link_inside_the_repository_is_read(here: Path) -> None:
    (here / "shared").mkdir()
    os.replace(here / "accounts" / "vertical-demo.yaml", here / "shared" / "vertical.yaml")
    (here / "accounts" / "vertical-demo.yaml").symlink_to("../shared/vertical.yaml")
    code, output = run("validate")
    assert (code, output) == (0, "2 accounts valid\n")


@pytest.mark.parametrize("name", ["reconciler.yaml", "pricebook.yaml"])
def test_a_configuration_or_price_book_linking_outside_is_refused_unread(
    here: Path, tmp_path: Path, name: str
) -> None:
    (here / name).unlink(missing_ok=True)
    (here / name).symlink_to(outside_file(tmp_path))
    for command in (["validate"], ["plan"]):
        code, output = run(*command)
        assert code == 1
        assert "root-secret-hash-line" not in output and "stolen" not in output
        assert f"{name}: a symbolic link to " in output


def test_changed_refuses_a_link_out_of_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var, value in {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
                       "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}.items():
        monkeypatch.setenv(var, value)
    repo = tmp_path / "repo"
    (repo / "accounts").mkdir(parents=True)
    (repo / "accounts" / "a.yaml").write_text("account: a\nplatform: mitel-connect\n"
                                              "external_id: X1\n")
    monkeypatch.chdir(repo)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    (repo / "accounts" / "evil.yaml").symlink_to(outside_file(tmp_path))
    git("add", "-A")
    git("commit", "-q", "-m", "pr")
    code, output = run("changed", "--base", "main~1")
    assert code == 1
    assert output.startswith("accounts/evil.yaml: a symbolic link to ")
    assert "stolen" not in output


# ------------------------------------------------------------------ writing output


def reconciler(*args: str, cwd: Path, stdout: object = subprocess.PIPE,
               stderr: object = subprocess.PIPE,
               **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=cwd, text=True,
                          stdout=stdout, stderr=stderr, check=False, timeout=120, **kw)  # type: ignore[call-overload]


def special(tmp_path: Path, kind: str, suffix: str) -> tuple[Path, str]:
    """A path that exists and is not a regular file, and how the refusal words it."""
    if kind == "device":
        return Path("/dev/full"), "a device"
    path = tmp_path / f"{kind}{suffix}"
    if kind == "fifo":
        os.mkfifo(path)
        return path, "a pipe"
    if kind == "link":
        path.symlink_to("/dev/full")
        return path, "a device"
    path.mkdir()
    return path, "a directory"


@pytest.mark.parametrize("kind", ["device", "fifo", "link", "directory"])
def test_o_writes_only_regular_files(here: Path, tmp_path: Path, kind: str) -> None:
    target, word = special(tmp_path, kind, ".json")
    commands = [["plan", "-o", str(target)]]
    if kind != "device":  # import -o takes .yaml names only
        yaml_target, _ = special(tmp_path, kind, ".yaml")
        commands.append(["import", "--platform", "mitel-connect", "--external-id",
                         "CC-104233", "--force", "-o", str(yaml_target)])
    for command in commands:
        code, output = run(*command)
        assert code == 1
        assert output.splitlines()[-1] == (
            f"error: cannot write {command[-1]} (it is {word}; -o writes only regular files)")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # never replaced
    assert not list(tmp_path.glob(".*.tmp")) and not list(Path("/dev").glob(".full.*"))


@pytest.mark.parametrize("command", [
    ["plan"], ["plan", "--format", "json"], ["validate", "--format", "json"], ["catalog"],
    ["sandbox", "show"],
    ["drift"], ["history"], ["import", "--platform", "mitel-connect", "--external-id",
                             "CC-104233"],
], ids=lambda c: "-".join(c[:3]))
def test_a_full_standard_output_is_one_line_and_exit_1(here: Path, command: list[str]) -> None:
    assert reconciler("sandbox", "reset", cwd=here).returncode == 0
    if command == ["history"]:
        assert reconciler("apply", "--auto-approve", "accounts/vertical-demo.yaml",
                          cwd=here).returncode == 0
    with open("/dev/full", "w") as full:
        done = reconciler(*command, cwd=here, stdout=full)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "error: cannot write to standard output (No space left on device)")
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    with open("/dev/full", "w") as full:  # nowhere to say it: the exit code still does
        both = reconciler(*command, cwd=here, stdout=full, stderr=full)
    assert both.returncode == 1


def _small_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_a_failed_o_leaves_no_temporary_file_and_the_old_plan(here: Path) -> None:
    # a plan bigger than the files this process may write (64 KiB): the write fails half-way
    users = "".join(f"  - extension: {2000 + i}\n    name: User {i}\n    profile: standard\n"
                    for i in range(300))
    (here / "accounts" / "big.yaml").write_text(
        f"account: big\nplatform: mitel-connect\nexternal_id: BIG-1\nusers:\n{users}")
    assert reconciler("sandbox", "add-account", "--platform", "mitel-connect",
                      "--external-id", "BIG-1", cwd=here).returncode == 0
    (here / "plans").mkdir()
    (here / "plans" / "plan.json").write_text('{"old": true}\n')
    done = reconciler("plan", "accounts/big.yaml", "-o", "plans/plan.json", cwd=here,
                      preexec_fn=_small_files)
    assert done.returncode == 1
    assert done.stderr == "error: cannot write plans/plan.json (File too large)\n"
    assert sorted(p.name for p in (here / "plans").iterdir()) == ["plan.json"]
    assert (here / "plans" / "plan.json").read_text() == '{"old": true}\n'


def test_write_file_cleans_up_whatever_stops_the_writer(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("before")

    def fails(fh: object) -> None:
        fh.write("half")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match=r"^cannot write .*out\.json \(No space left on dev"):
        write_file(target, fails)

    def interrupted(fh: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_file(target, interrupted)
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    assert target.read_text() == "before"
    write_file(target, lambda fh: fh.write("after"))
    assert target.read_text() == "after"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~_umask()


def test_o_through_a_link_writes_the_file_it_names_and_keeps_the_link(
    here: Path, tmp_path: Path
) -> None:
    real = here / "kept" / "plan.json"
    real.parent.mkdir()
    real.write_text("old")
    link = here / "plan.json"
    link.symlink_to(real)
    code, output = run("plan", "-o", str(link))
    assert code == 0, output
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().startswith("{")
    assert sorted(p.name for p in real.parent.iterdir()) == ["plan.json"]


@pytest.mark.parametrize("how", ["file", "relative", "directory"])
@pytest.mark.parametrize("suffix", [".json", ".md"])
def test_o_never_follows_a_link_out_of_the_repository(
    here: Path, tmp_path: Path, how: str, suffix: str
) -> None:
    # a pull request adds plans/plan.json -> ~/.bashrc (or a linked directory): CI's
    # plan -o plans/plan.json must not overwrite the runner's file
    victim = tmp_path / "home" / ".bashrc"
    victim.parent.mkdir()
    victim.write_text("export PATH=/usr/bin\n")
    (here / "plans").mkdir()
    named = f"plans/plan{suffix}"
    if how == "file":
        (here / named).symlink_to(victim)
    elif how == "relative":
        (here / named).symlink_to(os.path.relpath(victim, here / "plans"))
    else:
        (here / "plans").rmdir()
        (here / "plans").symlink_to(victim.parent, target_is_directory=True)
    code, output = run("plan", "-o", named)
    assert code == 1, output
    last = output.splitlines()[-1]
    assert last.startswith(f"error: cannot write {named} (a symbolic link to "), last
    assert last.endswith("outside the repository (" + os.path.realpath(here)
                         + "); -o follows a link only within it)"), last
    assert victim.read_text() == "export PATH=/usr/bin\n"
    assert sorted(p.name for p in victim.parent.iterdir()) == [".bashrc"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
