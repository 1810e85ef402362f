"""A real PostgreSQL server for the tests: initdb + pg_ctl in a temporary directory, on a
free 127.0.0.1 port, stopped at the end. Debian's ``postgresql`` package provides the
binaries (``.ci/run`` installs it); as root the server runs as the ``postgres`` user, since
PostgreSQL refuses to run as root.

Without the binaries the PostgreSQL tests are skipped, unless RECONCILER_REQUIRE_POSTGRES=1
(``.ci/run`` sets it), where a missing server is a failure: CI never silently skips them.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

REQUIRE_ENV = "RECONCILER_REQUIRE_POSTGRES"
#: the superuser's password: the tests connect with it through an environment variable
PASSWORD = "pg-test-" + uuid.uuid4().hex[:8]


def _bindir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    if found and Path(found[-1], "initdb").exists():
        return Path(found[-1])
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One server; ``new_database()`` gives each test a clean database of its own."""

    def __init__(self) -> None:
        bindir = _bindir()
        if bindir is None:
            message = "PostgreSQL is not installed (apt-get install postgresql)"
            if os.environ.get(REQUIRE_ENV) == "1":
                pytest.fail(message + f"; {REQUIRE_ENV}=1 requires it", pytrace=False)
            pytest.skip(message)
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="reconciler-pg-"))
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.root, self.user)
        self.data = self.root / "data"
        self.port = _free_port()
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.user:
            shutil.chown(pwfile, self.user)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--pwfile", str(pwfile),
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync",
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60",
            "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200",
            "start",
        )
        self._count = 0

    def _run(self, tool: str, *args: str) -> None:
        out = subprocess.run(
            [str(self.bindir / tool), *args], user=self.user, capture_output=True, text=True,
            timeout=120, check=False,
        )
        if out.returncode != 0:
            log = self.root / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed: {out.stdout}{out.stderr}{tail}")

    def url(self, dbname: str = "postgres") -> str:
        """A URL without the password (give it through an environment variable)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        import psycopg

        self._count += 1
        name = f"t{self._count}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(self.url(), password=PASSWORD, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
