"""``reconciler provider check``: the conformance kit for a bridge (docs/provider-protocol.md)."""

from __future__ import annotations

import click

from reconciler.errors import ExitCode, ReconcilerError
from reconciler.platforms import PLATFORMS


@click.group("provider")
def provider_group() -> None:
    """Bridges that serve a platform over the provider protocol (kind: http)."""


@provider_group.command("check")
@click.option("--platform", required=True, type=click.Choice(list(PLATFORMS)))
@click.option("--url", required=True, help="The bridge's base URL (before /v1).")
@click.option("--token-env", "token_env", default="RECONCILER_BRIDGE_TOKEN", show_default=True,
              metavar="VAR", help="Environment variable holding the bridge's bearer token.")
@click.option("--account", default=None, metavar="EXTERNAL_ID",
              help="A test account to use (default: a scratch account the kit creates).")
@click.option("--wait-seconds", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="How long to wait for the platform to approve the probe's change order.")
def check_command(platform: str, url: str, token_env: str, account: str | None,
                  wait_seconds: float) -> int:
    """Run the protocol's contract against a bridge: one line per violation.

    On a scratch account (or --account, a TEST account: the kit adds a user, one licence
    where the platform has pools, and removes them again) it checks the schema of every
    answer, 401 for a missing or wrong token, idempotency (the same key twice has one
    effect; the same key with another body is 409), pending change orders and their
    confirm, permanent (4xx) against transient (429/503 with Retry-After) errors. Exit 0
    when the bridge conforms, 1 otherwise.

    \b
    Examples:
      reconciler provider check --platform ipecs-cloud --url https://bridge.example.net
      reconciler provider check --platform call2teams --url http://127.0.0.1:8765 \\
          --token-env RECONCILER_SANDBOX_TOKEN
    """
    from reconciler.envvars import env_value
    from reconciler.protocol.conformance import Kit

    token = env_value(token_env)
    if token is None:
        raise ReconcilerError(f"--token-env {token_env}: that environment variable is not set")
    if not url.startswith(("http://", "https://")):
        raise ReconcilerError(f"--url {url!r}: give the bridge's http:// or https:// URL")
    report = Kit(platform, url, token.reveal(), account=account, wait_seconds=wait_seconds).run()
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    for line in report.violations:
        click.echo(line)
    if report.stopped:
        click.echo(f"error: {report.stopped}", err=True)
    if report.violations or report.stopped:
        click.echo(f"{url}: {len(report.violations)} violation(s) in {report.checks} checks "
                   f"({platform})", err=True)
        return int(ExitCode.ERROR)
    click.echo(f"{url}: conforms ({report.checks} checks passed, {platform})")
    return int(ExitCode.OK)


COMMANDS: list[click.Command] = [provider_group]
