"""The ``reconciler`` command: a click group; each command lives in its own module, parses
options, calls one core function and prints. Exit codes come from reconciler.errors only.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from reconciler import __version__
from reconciler.cli.output import guarded_streams
from reconciler.envvars import env_value
from reconciler.errors import (
    ExitCode,
    OutputError,
    ReconcilerError,
    ValidationFailed,
    exit_code_for,
)
from reconciler.escape import terminal


class ReconcilerGroup(click.Group):
    """Turns a command's returned ExitCode into the process exit code, every
    ReconcilerError into one line on stderr, and usage errors into exit 1 (2 is reserved
    for "changes present" / "drift found")."""

    # commands come from COMMANDS (below), each module imported on first use

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            import importlib

            for command in importlib.import_module(COMMANDS[cmd_name][0]).COMMANDS:
                self.add_command(command)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from COMMANDS' help lines, importing no command."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            if name in self.commands:
                text = self.commands[name].get_short_help_str(limit)
            else:
                text = click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """``--help`` and ``--version`` print while the group's options are parsed, before
        :meth:`invoke` guards the streams: a failed write there is one line too."""
        try:
            return super().parse_args(ctx, args)
        except BrokenPipeError:
            _silence(sys.stdout)
            ctx.exit(int(ExitCode.ERROR))
        except OSError as e:
            _silence(sys.stdout)
            _report(sys.stderr, f"error: cannot write to standard output ({e.strerror or e})")
            ctx.exit(int(ExitCode.ERROR))

    def invoke(self, ctx: click.Context) -> Any:
        with guarded_streams() as (out, err):
            code, rv = self._run(ctx)
            for stream in (out, err):
                try:
                    stream.flush()
                except BrokenPipeError:
                    _silence(stream)
                    code = int(ExitCode.ERROR)
                except OutputError as e:
                    _silence(stream)
                    _report(err, _one_line(e))
                    code = int(ExitCode.ERROR)
        if code is not None:
            ctx.exit(code)
        return rv

    def _run(self, ctx: click.Context) -> tuple[int | None, Any]:
        """(exit code or None, the command's return value); never raises but Exit."""
        try:
            rv = super().invoke(ctx)
        except click.UsageError as e:
            e.show()
            return int(ExitCode.ERROR), None
        except ReconcilerError as e:
            if isinstance(e, OutputError) and e.stream is not None:
                _silence(e.stream)  # what it still holds is lost: never write it twice
            _report(sys.stderr, _one_line(e))
            return int(exit_code_for(e)), None
        except (KeyboardInterrupt, click.Abort):
            _report(sys.stderr, "aborted")
            return int(ExitCode.ERROR), None
        except click.exceptions.Exit as e:
            return int(e.exit_code), None
        except SystemExit:
            raise
        except BrokenPipeError:  # `reconciler sandbox show | head`: the reader left
            _silence(sys.stdout)
            return int(ExitCode.ERROR), None
        except Exception as e:  # a bug: still no traceback unless asked for
            if env_value("RECONCILER_DEBUG") is not None:
                raise
            _report(sys.stderr, f"internal error: {type(e).__name__}: {terminal(str(e))} "
                                "(set RECONCILER_DEBUG=1 for a traceback)")
            return int(ExitCode.ERROR), None
        if isinstance(rv, int):
            return int(rv), rv
        return None, rv


def _report(stream: Any, line: str) -> None:
    """An error line on standard error; if even that cannot be written, the exit code
    still says it."""
    try:
        click.echo(line, file=stream)
    except (OSError, OutputError):
        _silence(stream)


def _silence(stream: Any) -> None:
    """A stream that failed: drop what it holds and point its descriptor at /dev/null, so
    the interpreter's last flush cannot fail again."""
    raw = getattr(stream, "raw", stream)
    try:
        fd = raw.fileno()
    except (OSError, ValueError, AttributeError):  # not a real file (a test's buffer)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    except OSError:
        pass
    finally:
        os.close(devnull)


def _one_line(e: ReconcilerError) -> str:
    """The error as printed: one line, escaped (its text may quote a file name, an id, a
    platform's words); an error that means several lines lists them in ``e.lines``."""
    if isinstance(e, ValidationFailed):  # one line per error, each escaped already
        return "\n".join(str(x) for x in e.errors)
    lines = getattr(e, "lines", None)
    if isinstance(lines, (list, tuple)) and lines:
        text = "\n".join(terminal(str(line)) for line in lines)
    else:
        text = terminal(str(e))
    first = text.split(":", 1)[0]
    # a located error already starts with its file; anything else gets "error: "
    located = (".yaml", ".yml", ".json", ".csv", ".xlsx")  # .csv/.xlsx: portal exports
    if "\n" in text or os.path.splitext(first)[1] in located:
        return text
    return f"error: {text}"


def _chdir(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        os.chdir(value)


@click.group(cls=ReconcilerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@click.option("-C", "--chdir", type=click.Path(exists=True, file_okay=False), default=None,
              callback=_chdir, expose_value=False, is_eager=True, metavar="DIR",
              help="Run as if started in DIR (as git -C).")
def cli() -> None:
    """Licences and user profiles of cloud phone systems, managed as code.

    Every command has --help ending with examples. The configuration is the
    reconciler.yaml found from the current directory up to the repository root (or
    --config FILE); PATHS default to accounts/ beside it.

    \b
    Examples:
      reconciler validate
      reconciler plan --format markdown -o plans/plan.json
      reconciler apply plans/plan.json
      reconciler -C ~/src/accounts-repo plan --account northwind

    \b
    Shell completion (commands, options, file names), e.g. in ~/.bashrc:
      eval "$(_RECONCILER_COMPLETE=bash_source reconciler)"
    zsh: _RECONCILER_COMPLETE=zsh_source; fish: _RECONCILER_COMPLETE=fish_source
    """


#: Every command: name -> (its module, its one-line help for ``reconciler --help``). A
#: module is imported only when one of its commands runs, so ``reconciler --help`` and the
#: small commands start without loading the schema validator, the templates or the planner.
#: The help line is the command's own first sentence (tests/test_cli_lazy.py checks it).
COMMANDS: dict[str, tuple[str, str]] = {
    "apply": ("reconciler.cli.apply_cmd",
              "Apply a saved plan (PLANFILE), or plan PATHS, confirm and apply."),
    "catalog": ("reconciler.cli.catalog_cmd",
                "List each platform's profile types, packages or SKUs, included features, "
                "add-ons and prices (the price book's, else clearly labelled samples)."),
    "changed": ("reconciler.cli.changed_cmd", "List the accounts whose files changed since REF."),
    "drift": ("reconciler.cli.drift_cmd",
              "Report what differs on the platforms from what the files say."),
    "history": ("reconciler.cli.history_cmd",
                "Writes apply sent and their outcomes: when, which account and step, the "
                "result, the account file's last git commit (``uncommitted`` when the file "
                "differs from it) and who ran it."),
    "import": ("reconciler.cli.import_cmd",
               "Write an account file from the live state of an account."),
    "plan": ("reconciler.cli.plan_cmd",
             "Read the accounts' live state, diff it against the files and print the change "
             "plan."),
    "provider": ("reconciler.cli.provider_cmd",
                 "Bridges that serve a platform over the provider protocol (kind: http)."),
    "report": ("reconciler.cli.report_cmd",
               "Fleet report: per customer and platform, licences held vs used (idle "
               "licences still billed, and the money they waste), monthly cost, revenue and "
               "margin, trials ending in the next 30 days, pending orders and Service Desk "
               "requests."),
    "runbook": ("reconciler.cli.runbook_cmd",
                "Runbooks that apply writes for kind: portal accounts (docs/portal.md)."),
    "sandbox": ("reconciler.cli.sandbox_cmd",
                "The embedded sandbox: a SQLite file simulating all three platforms."),
    "show": ("reconciler.cli.plan_cmd",
             "Print a saved plan (from plan -o) in any format; no platform is read."),
    "state": ("reconciler.cli.state_cmd",
              "The state store (locks and the journal): SQLite by default, or the PostgreSQL "
              "database that ``state.url`` / RECONCILER_STATE_URL names."),
    "unlock": ("reconciler.cli.history_cmd",
               "Break an account's apply lock, left behind by a run that died."),
    "validate": ("reconciler.cli.validate_cmd",
                 "Check account files (default: accounts/) against the schema and each "
                 "platform's rules."),
}


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="reconciler")
    sys.exit(0)
