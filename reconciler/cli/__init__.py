"""The ``reconciler`` command: a click group; each command lives in its own module, parses
options, calls one core function and prints. Exit codes come from reconciler.errors only.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from reconciler import __version__
from reconciler.errors import ExitCode, ReconcilerError, exit_code_for


class ReconcilerGroup(click.Group):
    """Turns a command's returned ExitCode into the process exit code, every
    ReconcilerError into one line on stderr, and usage errors into exit 1 (2 is reserved
    for "changes present" / "drift found")."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            rv = super().invoke(ctx)
        except click.UsageError as e:
            e.show()
            ctx.exit(int(ExitCode.ERROR))
        except ReconcilerError as e:
            click.echo(_one_line(e), err=True)
            ctx.exit(int(exit_code_for(e)))
        except (KeyboardInterrupt, click.Abort):
            click.echo("aborted", err=True)
            ctx.exit(int(ExitCode.ERROR))
        except (click.exceptions.Exit, SystemExit):
            raise
        except BrokenPipeError:  # `reconciler sandbox show | head`: the reader left
            _silence_stdout()
            ctx.exit(int(ExitCode.ERROR))
        except Exception as e:  # a bug: still no traceback unless asked for
            if os.environ.get("RECONCILER_DEBUG"):
                raise
            click.echo(
                f"internal error: {type(e).__name__}: {e} (set RECONCILER_DEBUG=1 for a traceback)",
                err=True,
            )
            ctx.exit(int(ExitCode.ERROR))
        if isinstance(rv, int):
            ctx.exit(int(rv))
        return rv


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (a test runner's buffer)
        pass
    finally:
        os.close(devnull)


def _one_line(e: ReconcilerError) -> str:
    text = str(e)
    first = text.split(":", 1)[0]
    # a located error already starts with its file; anything else gets "error: "
    located = (".yaml", ".yml", ".json", ".csv", ".xlsx")  # .csv/.xlsx: portal exports
    if "\n" in text or os.path.splitext(first)[1] in located:
        return text
    return f"error: {text}"


@click.group(cls=ReconcilerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """Licences and user profiles of cloud phone systems, managed as code.

    \b
    Examples:
      reconciler validate
      reconciler plan --format markdown -o plans/plan.json
      reconciler apply plans/plan.json
    """


def _register() -> None:
    # Explicit registry: one module per command family.
    from reconciler.cli import (
        apply_cmd,
        catalog_cmd,
        changed_cmd,
        import_cmd,
        plan_cmd,
        sandbox_cmd,
        validate_cmd,
    )

    for module in (
        validate_cmd, catalog_cmd, plan_cmd, apply_cmd, sandbox_cmd, import_cmd, changed_cmd
    ):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="reconciler")
    sys.exit(0)
