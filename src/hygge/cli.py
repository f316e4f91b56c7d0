"""The `hygge` command: argument parsing, rendering and exit codes. The work happens elsewhere.

Exit codes: 0 every entity moved, 1 some entity failed, 2 configuration or
usage error, 130 interrupted by Ctrl-C (SIGINT), 143 stopped by SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from hygge import __version__
from hygge.cli_exits import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Group,
    Report,
    console,
    guarded,
    guarded_json,
)

# pydantic looks for plugins in the metadata of every installed distribution the first time a model is built
# (13 ms here, more in a big environment); none is meant for hygge's own config models, built by this process.
# Set before any of them is built (hygge's package imports them lazily); a value the user set is kept.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


project_option = click.option(
    "--project", "-p", type=click.Path(path_type=Path), default=None,
    help="project folder or hygge.yml (default: search from the current folder upwards)",
)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="hygge")
def main() -> None:
    """hygge moves tables from where data lives (a Home) to where it should settle (a Store)."""
    from hygge.core.signals import stop_on_signals

    stop_on_signals()  # SIGTERM rolls back running moves like Ctrl-C, instead of ending the process on the spot
    if hasattr(signal, "SIGXFSZ"):
        # Past a file size limit, fail the write with EFBIG (and say so) instead of dying silently.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


@main.command()
@click.argument("name", type=click.Path(path_type=Path))
def init(name: Path) -> None:
    """Create a project NAME with sample data, ready for `hygge go`."""
    from hygge.scaffold import init_project

    def work() -> int:
        from rich.text import Text

        files = init_project(name)
        out = console()
        out.print(Text.assemble(("created", "green"), f" {name}/ with {len(files)} files"))
        out.print(Text(f"next:  cd {name} && hygge go"))
        return EXIT_OK

    guarded(False, work)


@main.command()
@project_option
@click.option("--flow", "-f", "flows", multiple=True, help="run only this flow (repeatable)")
@click.option("--entity", "-e", "entities", multiple=True, help="run only FLOW.ENTITY (repeatable, globs allowed)")
@click.option("--select", "-s", "selects", multiple=True, metavar="SELECTOR",
              help="run entities matching tag:NAME, FLOW or FLOW.ENTITY (globs; repeatable, united)")
@click.option("--exclude", "-x", "excludes", multiple=True, metavar="SELECTOR",
              help="leave out entities matching tag:NAME, FLOW or FLOW.ENTITY (repeatable)")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=None, help="moves at once")
@click.option("--full-drop", "run_type", flag_value="full_drop", default=None, help="replace targets this run")
@click.option("--append", "run_type", flag_value="append", help="append to targets this run")
@click.option("--incremental", "run_type", flag_value="incremental", help="load only what changed, this run")
@click.option("--from", "window_from", default=None, metavar="VALUE",
              help="backfill one entity: rows whose watermark is at least VALUE")
@click.option("--to", "window_to", default=None, metavar="VALUE",
              help="backfill one entity: rows whose watermark is below VALUE")
@click.option("--dry-run", is_flag=True, help="show what each entity would do; move nothing")
@click.option("--fail-fast", is_flag=True, default=None, help="stop every move at the first failure")
@click.option("--executor", type=click.Choice(["threads", "inline", "dask"]), default=None,
              help="where moves run (default from hygge.yml, else threads)")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="dask scheduler address, e.g. tcp://host:8786 (implies --executor dask)")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="with --executor dask and no scheduler: local worker processes to start")
@click.option("--json", "as_json", is_flag=True,
              help="print one JSON document on stdout (the run report, or the error); nothing else goes there")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="progress as log lines: text (without a terminal), or one JSON object per line on stderr (always)")
@click.option("--quiet", "-q", is_flag=True, help="no progress; only the summary line and failures")
@click.option("--verbose", "-v", is_flag=True, help="tracebacks for failures")
def go(project: Path | None, flows: tuple[str, ...], entities: tuple[str, ...], selects: tuple[str, ...],
       excludes: tuple[str, ...], concurrency: int | None, run_type: str | None, window_from: str | None,
       window_to: str | None, dry_run: bool, fail_fast: bool | None, executor: str | None, scheduler: str | None,
       workers: int | None, as_json: bool, log_format: str, quiet: bool, verbose: bool) -> None:
    """Run every flow (or the selected ones), with live progress and a summary."""
    from hygge.core.planner import Selection

    view = View(as_json, log_format == "json", quiet, verbose)

    def work() -> Report:
        from hygge.core.workspace import load_workspace

        ws = load_workspace(project)
        overrides: dict[str, Any] = {"concurrency": concurrency, "fail_fast": fail_fast, "executor": executor,
                                     "scheduler": scheduler, "workers": workers}
        if scheduler and not executor:
            overrides["executor"] = "dask"
        options = ws.config.options.model_copy(update={k: v for k, v in overrides.items() if v is not None})
        selection = Selection(list(flows), list(entities), run_type, (window_from, window_to), list(selects),
                              list(excludes))
        if dry_run:
            return _dry_run(ws, selection, as_json)
        return _go(ws, options, selection, view)

    if as_json:
        guarded_json("go --dry-run" if dry_run else "go", verbose, work, view.log_json)
    guarded(verbose, lambda: work()[0], view.log_json)


@dataclass(frozen=True)
class View:
    """What `hygge go` shows where: stdout holds the --json document or the summary; stderr the rest."""

    as_json: bool
    log_json: bool
    quiet: bool
    verbose: bool


def _go(ws: Any, options: Any, selection: Any, view: View) -> Report:
    from hygge.core.coordinator import Coordinator
    from hygge.core.planner import plan
    from hygge.progress.document import run_body

    plans, failures = plan(ws, selection)
    # With --json the real stdout is kept for the document (see guarded_json): sys.stdout is stderr here.
    out = console()
    if view.quiet:  # rich is imported only when something is printed
        run = Coordinator(options).run(ws.name, plans, failures)
    elif out.is_terminal and not view.log_json:
        from hygge.progress.live import LiveRenderer

        with LiveRenderer(out) as live:
            run = Coordinator(options, live).run(ws.name, plans, failures)
    else:
        from hygge.progress.logs import LogRenderer, logging_to

        with logging_to(sys.stderr if view.log_json else out.file, "json" if view.log_json else "text"):
            run = Coordinator(options, LogRenderer()).run(ws.name, plans, failures)
    if not (view.as_json and view.log_json):  # there, stderr holds JSON lines only
        from hygge.progress.summary import print_summary

        print_summary(out, run, view.verbose, table=not view.quiet)
    return run.exit_code, run_body(run, plans)


def _dry_run(ws: Any, selection: Any, as_json: bool) -> Report:
    from hygge.core.dryrun import describe
    from hygge.core.planner import plan
    from hygge.progress.document import dry_run_body

    plans, failures = plan(ws, selection)
    planned = [describe(p) for p in plans]
    errors = [f.error for f in failures] + [p.error for p in planned if p.error]
    # As for a run (RunResult.exit_code): an entity stopped by its configuration makes it a usage error.
    code = EXIT_USAGE if any(e.kind == "config" for e in errors) else EXIT_FAILED if errors else EXIT_OK
    if as_json:
        return code, dry_run_body(ws.name, planned, failures)
    from rich.table import Table
    from rich.text import Text

    out = console()
    table = Table(title=Text(f"hygge: {ws.name} (dry run: nothing is moved)"), title_justify="left")
    for column in ("entity", "run type", "from", "to", "columns", "rows in source", "selected by"):
        table.add_column(column)
    for p in planned:
        columns = ", ".join(p.columns[:6]) + (f", … ({len(p.columns)})" if len(p.columns) > 6 else "")
        # Text, not str: a cell given as str is read as markup, and names in brackets would vanish.
        table.add_row(Text(p.plan.key), Text(p.plan.run_type), Text(p.source or p.plan.source), Text(p.target),
                      Text("error", style="red") if p.error else Text(columns),
                      _rows_in_source(p), Text(_why(p.plan)))
    out.print(table)
    for p in planned:
        for line in p.drift:
            out.print(Text(f"schema change: {p.plan.key}: {line}", style="yellow"))
    for f in failures:
        out.print(Text(str(f.error), style="red"))
    for p in planned:
        if p.error:
            out.print(Text(str(p.error), style="red"))
    return code, {}


def _rows_in_source(planned: Any) -> str:
    """The Home's estimate: a count (parquet footers, lake logs) as it is, a database's statistics as ~N."""
    if planned.estimated_rows is None:
        return ""
    return f"{'' if planned.rows_exact else '~'}{planned.estimated_rows:,}"


def _why(plan: Any) -> str:
    tags = f" [tags: {', '.join(plan.tags)}]" if plan.tags else ""
    return f"{plan.selected_by}{tags}"


@main.command()
@project_option
@click.option("--flow", "-f", "flows", multiple=True, help="only this flow (repeatable)")
@click.option("--entity", "-e", "entity", default=None, help="only FLOW.ENTITY")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True, help="most recent runs")
@click.option("--json", "as_json", is_flag=True, help="print the runs as JSON")
def history(project: Path | None, flows: tuple[str, ...], entity: str | None, limit: int, as_json: bool) -> None:
    """Show recent runs from the journal of each store: what ran, what it moved, what failed and why."""

    def work() -> Report:
        from hygge.core.history import collect
        from hygge.core.workspace import load_workspace
        from hygge.progress.history import print_history

        ws = load_workspace(project)
        records = collect(ws, list(flows), entity, limit)
        if not as_json:
            print_history(console(), records)
        return EXIT_OK, {"project": ws.name, "runs": [r.to_dict() for r in records]}

    if as_json:
        guarded_json("history", False, work)
    guarded(False, lambda: work()[0])


@main.command()
@project_option
@click.argument("entity")
@click.option("--yes", "-y", is_flag=True, help="do not ask for confirmation")
def reset(project: Path | None, entity: str, yes: bool) -> None:
    """Forget ENTITY's watermark and loaded files (FLOW.ENTITY); the data stays, the next run reloads it."""

    def work() -> int:
        from rich.text import Text

        from hygge.core.history import forget
        from hygge.core.workspace import load_workspace

        ws = load_workspace(project)
        if not yes:
            question = f"Forget what {entity} has loaded? Its next incremental run reads everything again"
            click.confirm(question, abort=True)
        done = forget(ws, entity)
        console().print(Text(f"{entity}: state forgotten", style="green") if done else
                         Text(f"{entity} has no state to forget"))
        return EXIT_OK

    guarded(False, work)


@main.command()
@project_option
@click.option("--verbose", "-v", is_flag=True, help="tracebacks for failures")
def debug(project: Path | None, verbose: bool) -> None:
    """Check the configuration, paths and connections, and say how to fix what is wrong."""

    def work() -> int:
        from rich.text import Text

        from hygge.core.doctor import diagnose
        from hygge.core.workspace import load_workspace

        ws = load_workspace(project)
        out = console()
        bad = 0
        for finding in diagnose(ws):
            check = finding.check
            mark = ("✓", "green") if check.ok else ("✗", "bold red")
            # Text, not markup: paths, messages and hints hold brackets (`pip install "hygge[postgres]"`).
            out.print(Text.assemble(mark, f" {finding.section}: {check.name}: {check.detail}"))
            if not check.ok:
                bad += 1
                if check.hint:
                    out.print(Text(f"    next step: {check.hint}"))
        out.print(Text("all checks passed", style="green") if not bad else Text(f"{bad} check(s) failed", style="red"))
        return EXIT_OK if not bad else EXIT_FAILED

    guarded(verbose, work)


@main.command()
@project_option
@click.option("--out", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="the HTML file to write (default: hygge-report.html in the project folder)")
@click.option("--open", "open_page", is_flag=True, help="open the report in the default browser")
def report(project: Path | None, out: Path | None, open_page: bool) -> None:
    """Write one HTML page of every entity's recent runs, freshness, failures, schema changes and watermarks."""

    def work() -> int:
        import webbrowser

        from rich.text import Text

        from hygge.core.workspace import load_workspace
        from hygge.report import write_report

        written = write_report(load_workspace(project), out)
        made = written.report
        screen = console()
        count = len(made.entities)
        screen.print(Text(f"wrote {written.path}: {count} {'entity' if count == 1 else 'entities'}, "
                           f"{len(made.failing())} failing, {len(made.overdue())} overdue"))
        for problem in made.problems:
            screen.print(Text(problem, style="red"))
        if open_page and not webbrowser.open(written.path.as_uri()):
            screen.print(Text(f"no browser could be started; open {written.path} yourself", style="yellow"))
        return EXIT_OK

    guarded(False, work)


if __name__ == "__main__":  # pragma: no cover
    main()
