"""``reconciler sandbox ...``: the operator's handle on the embedded platform simulation."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.cli.options import config_option, format_option
from reconciler.config import Config
from reconciler.errors import ReconcilerError
from reconciler.escape import terminal
from reconciler.model import Site
from reconciler.platforms import PLATFORMS

if TYPE_CHECKING:
    from reconciler.sandbox import Sandbox


def _config(config_path: str) -> Config:
    from reconciler.config import load_config

    return load_config(config_path)


def _open(config_path: str) -> Sandbox:
    from reconciler.sandbox import Sandbox

    return Sandbox.open(_config(config_path))


@click.group("sandbox")
def sandbox_group() -> None:
    """The embedded sandbox: a SQLite file simulating all three platforms.

    Created with the demo live state on first use (.reconciler/sandbox.db unless
    reconciler.yaml says otherwise).

    \b
    Examples:
      reconciler sandbox show
      reconciler sandbox show --account vertical-demo --format json
      reconciler sandbox advance-clock 5
      reconciler sandbox approve 503037
      reconciler sandbox reset
    """


@sandbox_group.command("reset")
@click.option("--empty", is_flag=True, help="No accounts at all instead of the demo state.")
@config_option
def reset_command(empty: bool, config_path: str) -> None:
    """Put the sandbox back to the demo live state and the clock to its start.

    \b
    Examples:
      reconciler sandbox reset
      reconciler sandbox reset --empty
    """
    sandbox = _open(config_path)
    sandbox.reset(demo_state=not empty)
    what = "empty" if empty else "demo live state"
    click.echo(f"sandbox {sandbox.path}: reset to the {what}, clock {sandbox.today()}")


@sandbox_group.command("show")
@format_option("text", "json")
@click.option("--account", "account", default=None,
              help="Only this account: its slug or external id.")
@config_option
def show_command(fmt: str, account: str | None, config_path: str) -> None:
    """Users, licence pools, subscriptions, change orders, charges and the billed monthly
    total of every sandbox account.

    \b
    Examples:
      reconciler sandbox show
      reconciler sandbox show --account C000000150 --format json
    """
    from reconciler.sandbox.show import render_text

    sandbox = _open(config_path)
    data = sandbox.snapshot(account)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        render_text(data, sys.stdout, str(sandbox.path))


@sandbox_group.command("advance-clock")
@click.argument("days", type=click.IntRange(min=0, max=3650))
@config_option
def advance_clock_command(days: int, config_path: str) -> None:
    """Move the sandbox clock DAYS forward (trials expire, delayed orders get approved).

    \b
    Example:
      reconciler sandbox advance-clock 30
    """
    click.echo(f"sandbox clock: {_open(config_path).advance_clock(days)}")


@sandbox_group.command("approve")
@click.argument("order", type=int)
@config_option
def approve_command(order: int, config_path: str) -> None:
    """Approve a submitted iPECS change order, as the platform would.

    \b
    Example:
      reconciler sandbox approve 503037
    """
    _open(config_path).approve(order)
    click.echo(f"order {order}: approved")


@sandbox_group.command("reject")
@click.argument("order", type=int)
@config_option
def reject_command(order: int, config_path: str) -> None:
    """Reject a submitted iPECS change order, as the platform would.

    \b
    Example:
      reconciler sandbox reject 503037
    """
    _open(config_path).reject(order)
    click.echo(f"order {order}: rejected")


@sandbox_group.command("export")
@click.option("--account", "account", default=None,
              help="Only this account: its slug or external id (default: every account).")
@click.option("--dir", "directory", required=True, type=click.Path(path_type=Path),
              help="Write into DIR/<external_id>/ (the exports: DIR of kind: portal).")
@click.option("--format", "fmt", type=click.Choice(("xlsx", "csv")), default=None,
              help="Force one file format (default: what each portal downloads).")
@config_option
def export_command(account: str | None, directory: Path, fmt: str | None,
                   config_path: str) -> None:
    """Write the sandbox's live state as the portals' export files, for kind: portal.

    The files are dated on the sandbox's clock (its day, at the time of day now): the
    portal provider reads an account as of the day its exports were downloaded.

    \b
    Examples:
      reconciler sandbox export --dir exports
      reconciler sandbox export --account vertical-demo --dir exports --format csv
    """
    from reconciler.portal.export import sandbox_time, write_exports

    sandbox = _open(config_path)
    picked = sandbox.snapshot(account)["accounts"]
    for entry in picked:
        actual = sandbox.read_account(entry["platform"], entry["external_id"])
        paths = write_exports(actual, sandbox.catalogs[actual.platform], directory, fmt,
                              as_of=sandbox_time(actual.today))
        click.echo(f"{entry['account']}: wrote {', '.join(str(p) for p in paths)}")


@sandbox_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback unless you mean to expose it).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port; the URL is printed).")
@click.option("--token-env", "token_env", default="RECONCILER_SANDBOX_TOKEN",
              show_default=True, metavar="VAR",
              help="Environment variable holding the bearer token clients must send.")
@click.option("--tls-cert", "tls_cert", default=None, metavar="PEM",
              type=click.Path(exists=True, dir_okay=False),
              help="Serve https with this certificate (chain) file; needs --tls-key.")
@click.option("--tls-key", "tls_key", default=None, metavar="PEM",
              type=click.Path(exists=True, dir_okay=False),
              help="The private key of --tls-cert.")
@config_option
def serve_command(
    host: str, port: int, token_env: str, tls_cert: str | None, tls_key: str | None,
    config_path: str,
) -> None:
    """Serve the sandbox over the provider protocol (schemas/provider.openapi.yaml).

    The reference bridge: point a `kind: http` provider at it, or run `reconciler
    provider check` against it. Requests without the token in VAR get 401. Network faults
    come from RECONCILER_SANDBOX_FAULTS (latency=MS, http429=P, http503=P,
    drop_after_commit=P, slow=P, besides the sandbox's own). Stops on Ctrl-C or SIGTERM,
    answering requests in flight first.

    \b
    Examples:
      RECONCILER_SANDBOX_TOKEN=s3cret reconciler sandbox serve --port 8765
      RECONCILER_SANDBOX_FAULTS=latency=100,http429=0.1 reconciler sandbox serve --port 0
      reconciler sandbox serve --tls-cert server.pem --tls-key server.key
    """
    from reconciler.envvars import env_value
    from reconciler.sandbox.faults import FaultInjector
    from reconciler.sandbox.serve import serve

    value = env_value(token_env)  # a secret: checked on each request, never printed
    token = value.reveal() if value is not None else ""
    if not token:
        raise ReconcilerError(
            f"--token-env {token_env}: set that environment variable to the token clients "
            "must send (it is never printed)"
        )
    if (tls_cert is None) != (tls_key is None):
        raise ReconcilerError("--tls-cert and --tls-key go together: give both or neither")
    faults = FaultInjector.from_env()
    sandbox = _open(config_path)
    try:
        serve(sandbox, token, host=host, port=port, faults=faults.spec,
              tls=None if tls_cert is None or tls_key is None else (tls_cert, tls_key),
              announce=lambda url: click.echo(
                  f"serving sandbox {sandbox.path} on {url} (protocol /v1); "
                  "stop with Ctrl-C", err=True))
    finally:
        sandbox.close()
    click.echo("sandbox server stopped", err=True)


_SITE = re.compile(r"(?P<name>[^=]+)=(?P<first>[0-9]+)-(?P<last>[0-9]+)")


def _site(text: str) -> Site:
    match = _SITE.fullmatch(text.strip())
    if not match or int(match["first"]) > int(match["last"]):
        raise ReconcilerError(f'--site {text!r}: write it as "NAME=FIRST-LAST", e.g. '
                              '"Head Office=100-299"')
    return Site(match["name"].strip(), int(match["first"]), int(match["last"]))


@sandbox_group.command("add-account")
@click.option("--platform", required=True, type=click.Choice(list(PLATFORMS)))
@click.option("--external-id", "external_id", required=True)
@click.option("--name", default=None, help="Display name (default: the external id).")
@click.option("--kind", type=click.Choice(("client", "internal")), default="client",
              show_default=True)
@click.option("--site", "sites", multiple=True, help='A site, "NAME=100-299" (repeatable).')
@config_option
def add_account_command(platform: str, external_id: str, name: str | None, kind: str,
                        sites: tuple[str, ...], config_path: str) -> None:
    """Create an empty account on a simulated platform.

    \b
    Examples:
      reconciler sandbox add-account --platform ipecs-cloud --external-id C000000200 \\
          --name "Acme" --site "Acme HQ=100-299"
    """
    if not external_id.strip() or external_id != external_id.strip():
        raise ReconcilerError(f"--external-id {external_id!r}: give the platform's account id, "
                              "without surrounding spaces")
    parsed = [_site(s) for s in sites]
    _open(config_path).add_account(platform, external_id, name, kind, parsed)
    click.echo(f"{platform} account {terminal(external_id)}: created")


COMMANDS: list[click.Command] = [sandbox_group]
