"""The ``http`` provider verifies the bridge's TLS certificate: against a custom CA
(``ca_file``) a plan goes through; without it, or with another CA, the run stops with one
line about the certificate (verification is never switched off). The bridge is the served
sandbox over https (``sandbox serve --tls-cert/--tls-key``) with a throwaway CA and server
certificate made by the ``openssl`` CLI (.ci/run installs it when missing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from apply_helpers import invoke, workspace
from click.testing import Result
from served import CLIENT_TOKEN_ENV, PLATFORMS, TOKEN, served, server_config

from reconciler.sandbox.serve import TOKEN_ENV


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CLIENT_TOKEN_ENV, TOKEN)


def _openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(d: Path, name: str) -> None:
    _openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN={name}")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca.pem signs server.pem (for IP 127.0.0.1); other-ca.pem signs nothing here."""
    d = tmp_path_factory.mktemp("pki")
    _ca(d, "ca")
    _ca(d, "other-ca")
    _openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
             "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(d, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    return d


def _point_at(ws: Path, url: str, ca_file: Path | None) -> None:
    config = ws / "reconciler.yaml"
    lines = [config.read_text(), "providers:"]
    for p in PLATFORMS:
        ca = "" if ca_file is None else f", ca_file: '{ca_file}'"
        lines.append(f"  {p}: {{kind: http, url: '{url}', token_env: {CLIENT_TOKEN_ENV}, "
                     f"timeout: 5{ca}}}")
    config.write_text("\n".join(lines) + "\n")


def _plan_over_tls(tmp_path: Path, pki: Path, ca_file: Path | None) -> tuple[str, Result]:
    ws = workspace(tmp_path, demo=("vertical-demo",))
    base = (ws / "reconciler.yaml").read_text()
    tls = ("--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"))
    with served(server_config(ws), extra=tls) as server:
        assert server.url.startswith("https://127.0.0.1:")
        (ws / "reconciler.yaml").write_text(base)
        _point_at(ws, server.url, ca_file)
        return server.url, invoke(ws, "plan")


def test_a_plan_goes_through_with_the_bridge_ca(tmp_path: Path, pki: Path) -> None:
    url, result = _plan_over_tls(tmp_path, pki, pki / "ca.pem")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert "vertical-demo" in result.stdout
    assert url[len("https://"):] in result.stdout


@pytest.mark.parametrize("ca", [None, "other-ca.pem"], ids=["system CAs", "another CA"])
def test_an_untrusted_certificate_is_one_line(tmp_path: Path, pki: Path, ca: str | None) -> None:
    url, result = _plan_over_tls(tmp_path, pki, None if ca is None else pki / ca)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: cannot reach {url}: its TLS certificate is not trusted; set ca_file to the "
        "CA that signed it (verification is never switched off)\n")
    assert result.stdout == ""


def test_serve_needs_both_tls_files(tmp_path: Path, pki: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ws = workspace(tmp_path, demo=())
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    result = invoke(ws, "sandbox", "serve", "--tls-cert", str(pki / "server.pem"))
    assert result.exit_code == 1
    assert result.stderr == "error: --tls-cert and --tls-key go together: give both or neither\n"


def test_serve_with_a_key_that_is_not_one_is_one_line(tmp_path: Path, pki: Path) -> None:
    ws = workspace(tmp_path, demo=())
    # a real process, bounded in time: were the key not refused, it would serve
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "sandbox", "serve", "--port", "0", "--tls-cert",
         str(pki / "server.pem"), "--tls-key", str(pki / "san.ext")],
        cwd=ws, env={**os.environ, TOKEN_ENV: TOKEN}, capture_output=True, text=True,
        timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert result.stderr.startswith("error: --tls-cert/--tls-key: cannot use them (")
    assert result.stderr.count("\n") == 1
