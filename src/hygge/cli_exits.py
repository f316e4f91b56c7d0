"""How a command ends: what stopped it told in plain words, its exit code, and with --json one JSON document on
stdout whatever happens (cli.py parses the arguments; this is shared by its commands)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import click

from hygge.errors import HyggeError

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def console(stderr: bool = False) -> Console:
    from rich.console import Console  # here, not at the top: a quiet run that succeeds prints nothing

    stream = sys.stderr if stderr else sys.stdout
    # Without a terminal, keep lines long instead of wrapping them at 80 columns.
    return Console(file=stream, width=None if stream.isatty() else 160, highlight=False, soft_wrap=False)


def explain(error: BaseException, verbose: bool = False, log_json: bool = False) -> int:
    """Tell a person (or, with --log-format json, a log collector) what stopped the command; its exit code."""
    code = EXIT_USAGE if isinstance(error, HyggeError) and error.kind == "config" else EXIT_FAILED
    if isinstance(error, HyggeError):
        message = str(error)
    else:
        message = (f"hygge stopped on an unexpected {type(error).__name__}: {error}\n"
                   "run again with --verbose to see where, and report it if it persists")
    if verbose:
        message += "\n" + "".join(traceback.format_exception(error))
    if log_json:
        from hygge.progress.logs import log_error, logging_to

        with logging_to(sys.stderr, "json"):
            log_error(error, message)
        return code
    from rich.text import Text

    console(stderr=True).print(Text(message, style="red"))
    return code


def fail(error: BaseException, verbose: bool = False) -> NoReturn:
    sys.exit(explain(error, verbose))


def stopped(stop: KeyboardInterrupt) -> int:
    from hygge.core import signals

    signum = signals.signum_of(stop)
    console(stderr=True).print(f"[yellow]interrupted by {signals.name(signum)}[/]")
    return signals.exit_code(signum)


def guarded(verbose: bool, work: Callable[[], int], log_json: bool = False) -> NoReturn:
    try:
        code = work()
    except click.exceptions.Abort:
        console(stderr=True).print("nothing was changed")
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt as stop:  # before or after the moves ran: the Coordinator handles one during them
        sys.exit(stopped(stop))
    except Exception as exc:  # noqa: BLE001 - the CLI never shows a bare traceback
        sys.exit(explain(exc, verbose, log_json))
    sys.exit(code)


Report = tuple[int, dict[str, Any]]


def guarded_json(command: str, verbose: bool, work: Callable[[], Report], log_json: bool = False) -> NoReturn:
    """Run ``work`` and print exactly one JSON document on stdout, whatever happens; anything else the command
    prints goes to stderr meanwhile, so stdout stays that one document."""
    from hygge.progress.document import envelope, error_body, utc_now

    started, stdout = utc_now(), sys.stdout
    try:
        with _stdout_to_stderr():
            code, body = work()
    except KeyboardInterrupt as stop:
        code, body = stopped(stop), {"interrupted": True}
    except Exception as exc:  # noqa: BLE001 - the error becomes the document
        code, body = explain(exc, verbose, log_json), {"error": error_body(exc)}
    stdout.write(json.dumps(envelope(command, started, utc_now(), code, body), indent=2, default=str) + "\n")
    stdout.flush()
    sys.exit(code)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """What is printed meanwhile goes to stderr: Python's prints and, when stdout is this process's descriptor 1,
    what C libraries and child processes (local Dask workers, drivers) write there too."""
    sys.stdout.flush()
    try:
        whole = sys.stdout.fileno() == 1 and sys.stderr.fileno() == 2
    except (OSError, ValueError, io.UnsupportedOperation):  # a stream in memory (tests, notebooks)
        whole = False
    saved = os.dup(1) if whole else None
    if saved is not None:
        os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


class Group(click.Group):
    """Usage errors (an unknown option, a value out of range) with --json also print the one JSON document."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            if "--json" not in ctx.meta.get("hygge.args", ()):
                raise
            from hygge.progress.document import envelope, utc_now

            now = utc_now()
            command = error.ctx.info_name if error.ctx is not None and error.ctx.command is not self else ""
            helped = f"hygge {command} --help" if command else "hygge --help"
            body = {"error": {"kind": "usage", "message": error.format_message(), "hint": f"see `{helped}`"}}
            error.show()
            click.echo(json.dumps(envelope(command or "hygge", now, now, EXIT_USAGE, body), indent=2))
            sys.exit(EXIT_USAGE)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["hygge.args"] = tuple(args)
        return super().parse_args(ctx, args)
