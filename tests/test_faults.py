"""Faults on demand (RECONCILER_SANDBOX_FAULTS): one test per kind, and the parser."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reconciler.errors import ReconcilerError, TransientError
from reconciler.plan import Step
from reconciler.sandbox import FAULTS_ENV, FaultInjector, FaultSpec, Sandbox, parse_faults
from reconciler.sandbox.faults import CRASH_STATUS

MITEL, NORTHWIND = "mitel-connect", "CC-104233"


@pytest.fixture(autouse=True)
def _no_env_faults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    monkeypatch.delenv("RECONCILER_MITEL_ROLE", raising=False)


def create(ext: int) -> Step:
    return Step(id=f"c{ext}", action="create_user", user=ext,
                after={"name": f"User {ext}", "profile": "courtesy"})


def test_parse_a_full_spec() -> None:
    assert parse_faults("transient=0.2, lost_response=0.1,crash_after=5,seed=7") == FaultSpec(
        transient=0.2, lost_response=0.1, crash_after=5, seed=7)
    assert parse_faults("") == FaultSpec() and not FaultSpec().active


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("transient=2", "transient must be a probability between 0 and 1"),
        ("lost_response=often", "lost_response must be a probability between 0 and 1"),
        ("crash_after=0", "crash_after must be a whole number of at least 1"),
        ("seed=-1", "seed must be a whole number of at least 0"),
        ("flaky=0.1", "part 1 is not a known fault (known: transient, lost_response, "
                      "crash_after, seed, latency, http429, http503, drop_after_commit, slow)"),
        ("seed=1,transient", "part 2 is not KEY=VALUE"),
        ("seed=1,seed=2", '"seed" given twice'),
    ],
)
def test_a_bad_spec_is_one_line(text: str, message: str) -> None:
    with pytest.raises(ReconcilerError) as e:
        parse_faults(text)
    assert str(e.value) == f"{FAULTS_ENV}: {message}"  # the value itself is never shown


def test_a_bad_spec_in_the_environment_fails_the_cli_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from reconciler.cli import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(FAULTS_ENV, "transient=lots")
    result = CliRunner().invoke(cli, ["sandbox", "show"])
    assert result.exit_code == 1
    assert result.output == (f"error: {FAULTS_ENV}: transient must be a "
                             "probability between 0 and 1\n")


def _read_outcomes(path: Path, spec: str, n: int = 30) -> str:
    box = Sandbox(path, faults=FaultInjector(parse_faults(spec)))
    marks = []
    for _ in range(n):
        try:
            box.read_account(MITEL, NORTHWIND)
            marks.append(".")
        except TransientError as e:
            assert str(e).startswith("transient: platform busy (HTTP 503)")
            marks.append("T")
    return "".join(marks)


def test_transient_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    seven = _read_outcomes(tmp_path / "a.db", "transient=0.3,seed=7")
    assert seven == _read_outcomes(tmp_path / "b.db", "transient=0.3,seed=7")
    assert seven != _read_outcomes(tmp_path / "c.db", "transient=0.3,seed=8")
    assert 0 < seven.count("T") < len(seven)


def test_a_transient_write_does_nothing(tmp_path: Path) -> None:
    box = Sandbox(tmp_path / "s.db", faults=FaultInjector(parse_faults("transient=1")))
    with pytest.raises(TransientError):
        box.perform(MITEL, NORTHWIND, create(1500), "k")
    clean = Sandbox(tmp_path / "s.db", faults=FaultInjector(FaultSpec()))
    assert clean.read_account(MITEL, NORTHWIND).user(1500) is None


def test_lost_response_commits_then_raises_and_the_retry_does_not_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULTS_ENV, "lost_response=1")
    box = Sandbox(tmp_path / "s.db")
    with pytest.raises(TransientError) as e:
        box.perform(MITEL, NORTHWIND, create(1500), "k-1500")
    assert str(e.value) == "timeout: response lost"
    clean = Sandbox(tmp_path / "s.db", faults=FaultInjector(FaultSpec()))
    assert clean.read_account(MITEL, NORTHWIND).user(1500) is not None
    # the caller retries with the same key: the first outcome, nothing written again
    out = clean.perform(MITEL, NORTHWIND, create(1500), "k-1500")
    assert out.status == "done"
    assert len(clean.read_account(MITEL, NORTHWIND).users) == 8
    assert len(clean.charges(MITEL, NORTHWIND)) == 0  # courtesy has no NRC


_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from reconciler.plan import Step
    from reconciler.sandbox import Sandbox

    box = Sandbox(Path(sys.argv[1]))
    for ext in range(1500, 1505):
        step = Step(id=f"c{ext}", action="create_user", user=ext,
                    after={"name": f"User {ext}", "profile": "courtesy"})
        box.perform("mitel-connect", "CC-104233", step, f"k-{ext}")
        print("returned", ext, flush=True)
    print("survived", flush=True)
""")


@pytest.mark.parametrize("n", [1, 3])
def test_crash_after_n_commits_exits_hard(tmp_path: Path, n: int) -> None:
    db = tmp_path / "s.db"
    Sandbox(db).close()  # demo state created before the crashing process starts
    env = {**_env(), FAULTS_ENV: f"crash_after={n}"}
    proc = subprocess.run([sys.executable, "-c", _WRITER, str(db)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == CRASH_STATUS, proc.stderr
    # died right after the Nth commit: N-1 answers came back, the Nth never did
    assert proc.stdout.splitlines() == [f"returned {1500 + i}" for i in range(n - 1)]
    users = Sandbox(db, faults=FaultInjector(FaultSpec())).read_account(MITEL, NORTHWIND).users
    assert [u.extension for u in users if u.extension >= 1500] == [1500 + i for i in range(n)]


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != FAULTS_ENV}
