"""``reconciler import``: an account file written from an account's live state."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.options import config_option
from reconciler.config import Config
from reconciler.errors import ReconcilerError
from reconciler.escape import terminal
from reconciler.outfile import write_text
from reconciler.platforms import PLATFORMS


@click.command("import")
@click.option("--platform", default=None, type=click.Choice(list(PLATFORMS)),
              help="The account's platform (with --all: only this platform).")
@click.option("--external-id", "external_id", default=None)
@click.option("--all", "every", is_flag=True,
              help="Every account the configured credentials can see, one file each in --dir.")
@click.option("--dir", "directory", default="accounts", show_default=True,
              type=click.Path(path_type=Path, file_okay=False),
              help="With --all: where the account files go (<slug>.yaml).")
@click.option("-o", "--output", "output", default=None, type=click.Path(path_type=Path),
              help="Write the account file here (default: standard output).")
@click.option("--force", is_flag=True, help="Overwrite the output file(s) if they exist.")
@config_option
def import_command(platform: str | None, external_id: str | None, every: bool, directory: Path,
                   output: Path | None, force: bool, config_path: str) -> None:
    """Write an account file from the live state of an account.

    A plan of the written file has no changes. With --all, every account each platform's
    credential can see is imported in one run, each to <dir>/<slug>.yaml; a file that
    exists is left alone (and named) unless --force.

    \b
    Examples:
      reconciler import --platform ipecs-cloud --external-id C000000150
      reconciler import --platform call2teams --external-id C2T-10042 -o accounts/contoso.yaml
      reconciler import --all --dir accounts
    """
    from reconciler.config import load_config
    from reconciler.importer import render_account
    from reconciler.session import Session

    if every:
        if external_id is not None or output is not None:
            raise click.UsageError("--all imports every account: drop --external-id and -o")
        config = load_config(config_path)
        _import_all(config, [platform] if platform else list(PLATFORMS), directory, force)
        return
    if platform is None or external_id is None:
        raise click.UsageError("give --platform and --external-id, or --all")
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


def _import_all(config: Config, platforms: list[str], directory: Path, force: bool) -> None:
    """Every listed account of every platform, through one provider per platform."""
    from reconciler.connect import provider_for
    from reconciler.importer import render_account, slug_for
    from reconciler.pricebook import load_catalogs

    catalogs = load_catalogs(config)
    directory.mkdir(parents=True, exist_ok=True)
    taken: set[str] = {p.stem for p in directory.glob("*.y*ml")}
    written = skipped = 0
    for platform in platforms:
        provider = provider_for(platform, config)
        try:
            for external_id in provider.list_accounts():
                actual = provider.read_account(external_id)
                slug = slug_for(actual.name, external_id)
                target = directory / f"{slug}.yaml"
                if target.exists() and not force:
                    click.echo(f"skipped {terminal(str(target))} ({platform} "
                               f"{terminal(external_id)}): it exists; --force overwrites it",
                               err=True)
                    skipped += 1
                    continue
                if slug in taken and not target.exists():  # two accounts of one name
                    slug = slug_for(f"{actual.name} {external_id}", external_id)
                    target = directory / f"{slug}.yaml"
                taken.add(slug)
                write_text(target, render_account(actual, catalogs.get(platform), slug=slug))
                click.echo(f"wrote {terminal(str(target))} ({platform} {terminal(external_id)})",
                           err=True)
                written += 1
        finally:
            provider.close()
    click.echo(f"imported {written} account(s), skipped {skipped}", err=True)


COMMANDS: list[click.Command] = [import_command]
