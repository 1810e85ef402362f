"""The shared state store's URL as a hostile user writes it: a password in it (plain,
percent-encoded, in the query, with characters a URL reserves), an IPv6 host, a Unix
socket, odd options, no server, no database, a wrong password. Every failure is one line,
exit 1, no traceback, and the password is never printed; against a real PostgreSQL
server (tests/postgres_server.py)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from apply_helpers import invoke, workspace
from hypothesis import assume, given
from hypothesis import strategies as st
from postgres_server import PASSWORD, PostgresServer

from reconciler.state import StateError
from reconciler.stores import STATE_URL_ENV
from reconciler.stores.pgurl import parse_state_url

SECRET = "Zq7-s3cr3t-Pw"


def test_the_password_is_taken_out_of_the_url_before_the_driver_sees_it() -> None:
    for url in (
        f"postgresql://rec:{SECRET}@db.example.com:5432/rec?sslmode=require",
        f"postgresql://rec@db.example.com:5432/rec?password={SECRET}&sslmode=require",
        f"postgres://rec:{SECRET}@db.example.com:5432/rec?sslmode=require",
    ):
        parsed = parse_state_url(url, STATE_URL_ENV)
        assert parsed.password == SECRET
        assert SECRET not in parsed.url and SECRET not in parsed.shown
        assert parsed.shown == "postgresql://rec@db.example.com:5432/rec"
    # reserved characters percent-encoded, as a URL needs them, are decoded
    encoded = parse_state_url(f"postgresql://rec:{quote('p@ss/w?r#d%', safe='')}@h/db", "x")
    assert (encoded.password, encoded.url) == ("p@ss/w?r#d%", "postgresql://rec@h/db")
    # an unencoded @ in the password: its last @ ends the user info
    assert parse_state_url("postgresql://rec:p@ss@h/db", "x").password == "p@ss"


def test_messages_show_hosts_as_they_are_written() -> None:
    def shown(url: str) -> str:
        return parse_state_url(url, "x").shown

    assert shown("postgresql://rec@[::1]:5433/rec") == "postgresql://rec@[::1]:5433/rec"
    assert shown("postgresql://rec@%2Fvar%2Frun%2Fpostgresql/rec") == (
        "postgresql://rec@/rec?host=/var/run/postgresql"
    )
    assert shown("postgresql:///rec?host=/tmp/pg&port=5433") == (
        "postgresql:///rec?host=/tmp/pg&port=5433"
    )
    assert shown("postgresql://a,b:5433/rec") == "postgresql://a,b:5433/rec"


@pytest.mark.parametrize(("url", "error"), [
    ("host=db password=Zq7-s3cr3t-Pw dbname=rec",
     "RECONCILER_STATE_URL is not a PostgreSQL URL: it must start with postgresql://"),
    ("postgresql://rec:Zq7%zzs3cr3t@db/rec",
     "RECONCILER_STATE_URL is malformed: a bad percent-encoding in its password"),
    ("postgresql://rec@db/rec?password=Zq7%zzs3cr3t",
     "RECONCILER_STATE_URL is malformed: a bad percent-encoding in its password"),
    ("postgresql://rec:Zq7/s3cr3t@db/rec",
     "RECONCILER_STATE_URL is malformed: an @ after its host; percent-encode @ / ? # % in "
     "the user name and password (%40 %2F %3F %23 %25)"),
    ("postgresql://rec:Zq7?s3cr3t@db/rec",
     "RECONCILER_STATE_URL is malformed: an @ after its host; percent-encode @ / ? # % in "
     "the user name and password (%40 %2F %3F %23 %25)"),
    ("postgresql://rec:Zq7-s3cr3t@[::1/rec",
     'RECONCILER_STATE_URL is malformed: end of string reached when looking for matching "]"'
     ' in IPv6 host address in URI: "postgresql://rec@[::1/rec"'),
    ("postgresql://rec:Zq7-s3cr3t@db/rec?bogus=1",
     'RECONCILER_STATE_URL is malformed: invalid URI query parameter: "bogus"'),
    ("postgresql://rec:Zq7-s3cr3t@db:5x432/rec",
     "RECONCILER_STATE_URL is malformed: a port that is not a number"),
    ("postgresql://rec:Zq7-s3cr3t@[::1]:5432,db2:x/rec",
     "RECONCILER_STATE_URL is malformed: a port that is not a number"),
])
def test_a_malformed_url_is_one_line_that_quotes_no_password(url: str, error: str) -> None:
    with pytest.raises(StateError) as caught:
        parse_state_url(url, STATE_URL_ENV)
    assert str(caught.value) == error
    assert "s3cr3t" not in str(caught.value)


_PASSWORDS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=6, max_size=24
)


@given(password=_PASSWORDS, encode=st.booleans(), in_query=st.booleans())
def test_no_password_survives_into_what_the_driver_or_a_message_gets(
    password: str, encode: bool, in_query: bool
) -> None:
    assume(password.strip() == password and password not in "postgresql://rec@db:5432/rec")
    written = quote(password, safe="") if encode else password
    url = (f"postgresql://rec@db:5432/rec?password={written}" if in_query
           else f"postgresql://rec:{written}@db:5432/rec")
    try:
        parsed = parse_state_url(url, STATE_URL_ENV)
    except StateError as e:
        assert password not in str(e) and written not in str(e)
        return
    assert password not in parsed.url and password not in parsed.shown
    assert written not in parsed.url and written not in parsed.shown


# ----------------------------------------------------- the CLI against a real server


@pytest.fixture
def server(postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> PostgresServer:
    for name in (STATE_URL_ENV, "PGPASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return postgres_server


def _cli(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    ws = workspace(tmp_path, demo=())
    monkeypatch.setenv(STATE_URL_ENV, url)
    result = invoke(ws, *(args or ("history",)))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    return result.output.strip()


def test_a_password_in_the_environment_url_connects_and_is_never_printed(
    tmp_path: Path, server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = server.new_database()
    with_password = db.replace("postgres@", f"postgres:{quote(PASSWORD, safe='')}@")
    ws = workspace(tmp_path, demo=())
    for url in (with_password, f"{db}?password={PASSWORD}&sslmode=disable"):
        monkeypatch.setenv(STATE_URL_ENV, url)
        migrated = invoke(ws, "state", "migrate")
        assert migrated.exit_code == 0, migrated.output
        assert PASSWORD not in migrated.output
        assert migrated.output.startswith(f"state store {db}: schema ")


@pytest.mark.parametrize("case", [
    "wrong password", "query password", "no server", "bad sslmode", "ipv6 no server",
    "no socket",
])
def test_every_connection_failure_is_one_line_without_the_password(
    tmp_path: Path, server: PostgresServer, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    secret = "Wr0ng-" + PASSWORD
    auth = f"postgres:{secret}@"
    host = f"127.0.0.1:{server.port}"
    url, expected = {
        "wrong password": (f"postgresql://{auth}{host}/postgres",
                           'password authentication failed for user "postgres"'),
        "query password": (f"postgresql://postgres@{host}/nodb?password={secret}",
                           'password authentication failed'),
        "no server": (f"postgresql://{auth}127.0.0.1:1/postgres", "Connection refused"),
        "bad sslmode": (f"postgresql://{auth}{host}/postgres?sslmode=sometimes",
                        'invalid sslmode value: "sometimes"'),
        "ipv6 no server": (f"postgresql://{auth}[::1]:1/postgres", "failed"),
        "no socket": (f"postgresql://{auth}%2Fnonexistent-dir/postgres",
                      "No such file or directory"),
    }[case]
    line = _cli(tmp_path, url, monkeypatch)
    assert line.startswith("error: cannot open the state store postgresql://postgres@"), line
    assert expected in line
    assert secret not in line and quote(secret, safe="") not in line


def test_a_missing_database_says_so(
    tmp_path: Path, server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    line = _cli(tmp_path, server.url("nodb"), monkeypatch, "state", "migrate")
    assert line == (
        f"error: cannot open the state store {server.url('nodb')}: connection failed: "
        f'connection to server at "127.0.0.1", port {server.port} failed: FATAL: '
        'database "nodb" does not exist'
    )


@pytest.mark.parametrize("written", [
    "Zq7%zzs3cr3t", "Zq7 s3cr3t%", "Zq7/s3cr3t", "Zq7?s3cr3t", "Zq7#s3cr3t",
])
def test_a_malformed_password_in_the_url_is_never_echoed(
    tmp_path: Path, server: PostgresServer, monkeypatch: pytest.MonkeyPatch, written: str
) -> None:
    """libpq quotes the token it could not read: the password, before the fix."""
    url = f"postgresql://postgres:{written}@127.0.0.1:{server.port}/postgres"
    line = _cli(tmp_path, url, monkeypatch)
    assert line.startswith("error: RECONCILER_STATE_URL is malformed: "), line
    assert "s3cr3t" not in line


@pytest.mark.parametrize(("url", "error"), [
    ("postgresql://rec@[::1/rec", 'state.url is malformed: end of string reached when looking'
     ' for matching "]" in IPv6 host address in URI: "postgresql://rec@[::1/rec"'),
    ("postgresql://rec@db:x/rec", "state.url is malformed: a port that is not a number"),
    ("postgresql://rec@db/rec?bogus=1",
     'state.url is malformed: invalid URI query parameter: "bogus"'),
])
def test_a_malformed_state_url_in_reconciler_yaml_is_named_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, error: str
) -> None:
    """Before, it was found only when a command opened the store, with no file or line
    (and a bad port was a host-name lookup failure)."""
    monkeypatch.delenv(STATE_URL_ENV, raising=False)
    ws = workspace(tmp_path, demo=())
    (ws / "reconciler.yaml").write_text(f"state:\n  url: '{url}'\n")
    result = invoke(ws, "history")
    assert (result.exit_code, result.output) == (1, f"reconciler.yaml:2:8: {error}\n")


def test_a_password_in_the_environment_url_needs_no_password_env(
    tmp_path: Path, server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """reconciler.yaml names password_env for laptops; CI gives the whole URL with its
    password. Before, the unset password_env variable was an error even so."""
    db = server.new_database()
    ws = workspace(tmp_path, demo=())
    (ws / "reconciler.yaml").write_text(
        f"state: {{url: '{db}', password_env: LAPTOP_DB_PASSWORD}}\n")
    monkeypatch.delenv("LAPTOP_DB_PASSWORD", raising=False)
    monkeypatch.setenv(STATE_URL_ENV, db.replace("postgres@", f"postgres:{PASSWORD}@"))
    result = invoke(ws, "history")
    assert (result.exit_code, result.output) == (0, "no applied steps recorded\n")
    monkeypatch.setenv(STATE_URL_ENV, db)  # no password of its own: password_env it is
    missing = invoke(ws, "history")
    assert missing.exit_code == 1 and "LAPTOP_DB_PASSWORD, which is not set" in missing.output
