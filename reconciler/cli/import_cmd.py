"""``reconciler import``: an account file written from an account's live state."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.options import config_option
from reconciler.errors import ReconcilerError
from reconciler.escape import terminal
from reconciler.outfile import write_text
from reconciler.platforms import PLATFORMS


@click.command("import")
@click.option("--platform", required=True, type=click.Choice(list(PLATFORMS)))
@click.option("--external-id", "external_id", required=True)
@click.option("-o", "--output", "output", default=None, type=click.Path(path_type=Path),
              help="Write the account file here (default: standard output).")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@config_option
def import_command(platform: str, external_id: str, output: Path | None, force: bool,
                   config_path: str) -> None:
    """Write an account file from the live state of an account.

    A plan of the written file has no changes.

    \b
    Examples:
      reconciler import --platform ipecs-cloud --external-id C000000150
      reconciler import --platform call2teams --external-id C2T-10042 -o accounts/contoso.yaml
    """
    from reconciler.config import load_config
    from reconciler.importer import render_account
    from reconciler.session import Session

    if output is not None and output.suffix.lower() not in (".yaml", ".yml"):
        # validate and plan read only .yaml/.yml files: refuse before asking the platform
        raise ReconcilerError(f"-o {output}: an account file must end in .yaml or .yml")
    config = load_config(config_path)
    with Session(config) as session:
        actual = session.read(platform, external_id)
        text = render_account(actual, session.catalogs.get(platform))
    if output is None:
        click.echo(text, nl=False)
        return
    if output.exists() and not force:
        raise ReconcilerError(f"{output} exists: choose another -o or add --force")
    write_text(output, text)  # a regular file only, atomically; one line if it fails
    click.echo(f"wrote {terminal(str(output))}", err=True)


COMMANDS: list[click.Command] = [import_command]
