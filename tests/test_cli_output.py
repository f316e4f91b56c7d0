"""What scripts rely on: `--json` is one JSON document on stdout whatever happens, configuration-kind failures
exit 2, `-q` is the summary line, and `--log-format json` is one JSON object per line on stderr."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hygge import __version__
from tests.helpers import run_hygge, write_project
from tests.plugins import TickHome

LOG_KEYS = ["time", "level", "logger", "event", "flow", "entity", "message"]


def document(proc: Any) -> dict[str, Any]:
    """stdout as a script reads it: the whole of it must be one JSON document, with the envelope.

    ``proc`` is a finished process, or the result of click's CliRunner where a real process is not the point."""
    code = proc.returncode if hasattr(proc, "returncode") else proc.exit_code
    doc = json.loads(proc.stdout)
    assert doc["hygge_version"] == __version__ and doc["exit_code"] == code
    assert doc["ok"] is (code == 0)
    started, ended = datetime.fromisoformat(doc["started_at"]), datetime.fromisoformat(doc["ended_at"])
    assert started.utcoffset() == timedelta(0) and ended.utcoffset() == timedelta(0) and ended >= started
    return dict(doc)


def demo(tmp_path: Path) -> Path:
    from hygge.scaffold import init_project

    init_project(tmp_path / "demo")
    return tmp_path / "demo"


def hygge(*args: str, cwd: Path, check: int) -> Any:
    """`hygge ARGS` in this process (click's CliRunner), from ``cwd``: for what needs no process of its own."""
    from click.testing import CliRunner

    from hygge.cli import main

    here = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args))
    finally:
        os.chdir(here)
    assert result.exit_code == check, result.output
    return result


def test_json_of_a_succeeding_run_has_structured_sources_and_targets(tmp_path: Path) -> None:
    project = demo(tmp_path)
    doc = document(run_hygge("go", "--json", cwd=project, check=0))
    assert doc["command"] == "go"
    users = next(m for m in doc["moves"] if m["entity"] == "users")
    assert users["status"] == "ok" and users["rows_written"] == 1000 and users["error"] is None
    assert users["source"] == {"kind": "parquet", "family": "files", "path": "data/source/users.parquet",
                               "display": "1 file, 31,974 bytes"}
    assert users["target"] == {"kind": "parquet", "family": "files", "path": "data/lake/users",
                               "display": "data/lake/users"}
    dry = document(hygge("go", "--dry-run", "--json", cwd=project, check=0))
    assert dry["command"] == "go --dry-run" and dry["moves"][0]["source"]["kind"] == "parquet"
    history = document(hygge("history", "--json", cwd=project, check=0))
    assert history["command"] == "history" and sorted(r["entity"] for r in history["runs"]) == [
        "events", "orders", "users"]


def test_json_of_a_failing_run_says_each_moves_status_and_error_and_logs_are_json_lines(tmp_path: Path) -> None:
    project = demo(tmp_path)
    bad = project / "data" / "source" / "orders.parquet"
    bad.write_bytes(bad.read_bytes()[:-200])
    proc = run_hygge("go", "--json", "--log-format", "json", cwd=project, check=1)
    doc = document(proc)
    status = {m["entity"]: m["status"] for m in doc["moves"]}
    assert status == {"events": "ok", "orders": "failed", "users": "ok"}
    error = next(m for m in doc["moves"] if m["entity"] == "orders")["error"]
    assert error["kind"] == "read" and "not a readable parquet file" in error["message"]
    assert error["hint"].startswith("re-export the file from its source")
    records = [json.loads(line) for line in proc.stderr.splitlines()]  # every line on stderr is JSON
    assert records and all(list(r)[:len(LOG_KEYS)] == LOG_KEYS for r in records)
    assert {r["logger"] for r in records} <= {"hygge.move", "hygge.run"}
    failed = [r for r in records if r["event"] == "done" and r["entity"] == "orders"]
    assert [(r["level"], r["status"], r["error"]["kind"]) for r in failed] == [("error", "failed", "read")]
    assert records[-1]["event"] == "run-end" and records[-1]["exit_code"] == 1


def test_json_of_a_configuration_error_exits_2_and_is_still_one_document(tmp_path: Path) -> None:
    write_project(tmp_path, "name: broken\noptons: {}\n", flows={"a": """\
        home: {type: parqet, path: in}
        store: {type: parquet, path: out}
        """})
    for args in (["go", "--json"], ["go", "--dry-run", "--json"], ["history", "--json"]):
        # The first in a real process, as a script runs it; the others in this one.
        proc = run_hygge(*args, cwd=tmp_path, check=2) if args == ["go", "--json"] else hygge(*args, cwd=tmp_path,
                                                                                                check=2)
        error = document(proc)["error"]
        assert error["kind"] == "config" and len(error["problems"]) == 2, args
        assert "unknown key 'optons'" in proc.stderr, "the person still reads it on stderr"
    usage = hygge("go", "--json", "--concurrency", "0", cwd=tmp_path, check=2)
    assert document(usage)["error"]["kind"] == "usage"


def test_a_bad_from_value_found_when_the_move_starts_exits_2(tmp_path: Path) -> None:
    project = demo(tmp_path)
    (project / "flows" / "example" / "entities" / "users.yml").write_text("watermark: signup_date\n")
    proc = hygge("go", "-e", "example.users", "--from", "not-a-date", "--json", cwd=project, check=2)
    [move] = document(proc)["moves"]
    assert move["status"] == "failed" and move["error"]["kind"] == "config"
    assert "not-a-date" in json.dumps(move["error"])


@pytest.mark.parametrize(("module", "flow"), [
    ("pgpq", """\
        home: {type: parquet, path: data}
        store: {type: postgres, url: "postgresql://nobody@127.0.0.1:1/db"}
        entities: [users]
        """),  # the postgres store's encoder
    ("adbc_driver_postgresql", """\
        home: {type: postgres, url: "postgresql://nobody@127.0.0.1:1/db"}
        store: {type: parquet, path: out}
        entities: [users]
        """),  # the postgres home's reader
], ids=["store", "home"])
def test_a_missing_driver_found_when_the_move_starts_exits_2(tmp_path: Path, module: str, flow: str) -> None:
    # A driver that is not installed: a package of that name that cannot be imported, first on the path.
    shadow = tmp_path / "shadow" / module
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(f"raise ModuleNotFoundError(\"No module named '{module}'\", name='{module}')\n")
    from hygge.samples import write_sample_source

    write_sample_source(tmp_path / "data")
    write_project(tmp_path, "name: p\n", flows={"f": flow})
    path = os.pathsep.join([str(tmp_path / "shadow"), os.environ.get("PYTHONPATH", "")])
    proc = run_hygge("go", "--json", cwd=tmp_path, check=2, env={"PYTHONPATH": path})
    [move] = document(proc)["moves"]
    assert move["error"]["kind"] == "config" and move["error"]["hint"] == 'pip install "hygge[postgres]"'
    assert module in move["error"]["message"], move["error"]
    assert "postgresql://" not in json.dumps(move), "a URL may hold a password: never in the report"
    if module == "pgpq":
        assert move["target"]["family"] == "database" and move["target"]["table"] == "users"


def test_quiet_prints_exactly_the_summary_line_and_the_errors_of_failed_moves(tmp_path: Path) -> None:
    project = demo(tmp_path)
    proc = hygge("go", "-q", cwd=project, check=0)
    assert re.fullmatch(r"3 of 3 entities moved, 8,000 rows in \d+\.\ds\n", proc.stdout), proc.stdout
    assert proc.stderr == ""
    bad = project / "data" / "source" / "orders.parquet"
    bad.write_bytes(bad.read_bytes()[:-200])
    failed = hygge("go", "-q", cwd=project, check=1)
    first, *rest = failed.stdout.splitlines()
    assert re.fullmatch(r"2 of 3 entities moved, 3,000 rows in \d+\.\ds", first)
    assert rest[1].startswith("flow example, entity orders: this file is not a readable parquet file")


def test_text_log_lines_are_records_of_the_hygge_logger(tmp_path: Path) -> None:
    """In process: the lines without a terminal are `logging` records an application could catch too."""
    import logging

    from click.testing import CliRunner

    from hygge.cli import main

    project = demo(tmp_path)
    caught: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = caught.append  # type: ignore[method-assign]
    logging.getLogger("hygge").addHandler(handler)
    try:
        result = CliRunner().invoke(main, ["go", "--project", str(project), "-e", "example.users"])
    finally:
        logging.getLogger("hygge").removeHandler(handler)
    assert result.exit_code == 0, result.output
    events = [(r.name, getattr(r, "event", None), getattr(r, "entity", None)) for r in caught]
    assert events == [("hygge.move", "start", "users"), ("hygge.move", "done", "users"),
                      ("hygge.run", "run-end", None)]
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ start    example.users ", result.output, flags=re.M)


class BrokenHome(TickHome):
    """A plugin with a bug: listing its entities raises something that is no HyggeError."""

    type_name = "broken"

    def discover(self) -> list[tuple[str, str]]:
        raise RuntimeError("a bug in a plugin")


def test_an_unexpected_error_is_still_one_json_document_and_exits_1(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from hygge.cli import main
    from hygge.core import registry

    registry.register("home", "broken", "tests.test_cli_output:BrokenHome")
    write_project(tmp_path, "name: p\n", flows={"f": """\
        home: {type: broken}
        store: {type: parquet, path: out}
        entities: "*"
        """})
    result = CliRunner().invoke(main, ["go", "--project", str(tmp_path), "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == 1 and doc["ok"] is False
    assert doc["error"] == {"kind": "unexpected", "message": "RuntimeError: a bug in a plugin", "type": "RuntimeError",
                            "hint": "run again with --verbose to see where, and report it if it persists"}
    assert "unexpected RuntimeError: a bug in a plugin" in result.stderr


def test_an_entity_stopped_by_its_settings_exits_2_in_a_run_and_in_a_dry_run(tmp_path: Path) -> None:
    from hygge.samples import write_sample_source

    write_sample_source(tmp_path / "data")
    write_project(tmp_path, "name: p\n", flows={"f": """\
        home: {type: parquet, path: data}
        store: {type: parquet, path: out}
        entities: [users, {name: orders, run_type: merge}]
        """})
    run = document(hygge("go", "--json", cwd=tmp_path, check=2))
    status = {m["entity"]: (m["status"], m["error"] and m["error"]["kind"]) for m in run["moves"]}
    assert status == {"orders": ("failed", "config"), "users": ("ok", None)}, "the other entity still moves"
    dry = hygge("go", "--dry-run", cwd=tmp_path, check=2)
    assert "run_type merge needs `keys`" in dry.stdout
    assert document(hygge("go", "--dry-run", "--json", cwd=tmp_path, check=2))["failures"][0]["entity"] == "orders"


class NoisyHome(TickHome):
    """A plugin that prints while it lists entities: from Python, straight to descriptor 1, and from a child."""

    type_name = "noisy"

    def discover(self) -> list[tuple[str, str]]:
        import subprocess
        import sys

        print("python noise")
        os.write(1, b"descriptor noise\n")
        subprocess.run([sys.executable, "-c", "print('child noise')"], check=True)
        return [("n", "n")]


def test_nothing_but_the_document_reaches_stdout_whoever_prints(tmp_path: Path) -> None:
    import subprocess
    import sys

    write_project(tmp_path, "name: p\n", flows={"f": """\
        home: {type: noisy, rows: 5, batches: 1}
        store: {type: parquet, path: out}
        entities: "*"
        """})
    script = ("from hygge.core import registry; registry.register('home', 'noisy', 'tests.test_cli_output:NoisyHome');"
              "from hygge.cli import main; main()")
    proc = subprocess.run([sys.executable, "-c", script, "go", "--json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 0, proc.stderr
    assert document(proc)["moves"][0]["rows_written"] == 5
    for noise in ("python noise", "descriptor noise", "child noise"):
        assert noise in proc.stderr


def test_database_targets_say_table_schema_database_file_and_connection(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from hygge.cli import main
    from hygge.samples import write_sample_source

    write_sample_source(tmp_path / "data")
    write_project(tmp_path, """\
        name: p
        connections:
          warehouse: {path: data/w.sqlite}
        """, flows={
        "lite": "home: {type: parquet, path: data}\nstore: {type: sqlite, connection: warehouse}\nentities: [users]\n",
        "duck": "home: {type: parquet, path: data}\nstore: {type: duckdb, path: data/w.duckdb, schema: shop}\n"
                "entities: [{name: orders, target: sales_orders}]\n",
    })
    result = CliRunner().invoke(main, ["go", "--project", str(tmp_path), "--json", "-q"])
    assert result.exit_code == 0, result.output
    targets = {m["entity"]: m["target"] for m in json.loads(result.stdout)["moves"]}
    assert {k: v for k, v in targets["users"].items() if k != "display"} == {
        "kind": "sqlite", "family": "database", "connection": "warehouse", "table": "users"}
    assert {k: v for k, v in targets["orders"].items() if k != "display"} == {
        "kind": "duckdb", "family": "database", "table": "sales_orders", "schema": "shop",
        "database": "data/w.duckdb"}
    assert re.fullmatch(r"2 of 2 entities moved, 6,000 rows in \d+\.\ds\n", result.stderr), "-q with --json: stderr"


def test_log_format_json_keeps_stderr_json_and_the_summary_on_stdout(tmp_path: Path) -> None:
    from hygge.samples import write_sample_source

    write_sample_source(tmp_path / "data")
    write_project(tmp_path, "name: p\n", flows={"f": """\
        home: {type: parquet, path: data}
        store: {type: parquet, path: out}
        entities: [users, {name: orders, run_type: merge}]
        """})
    proc = run_hygge("go", "--log-format", "json", cwd=tmp_path, check=2)
    records = [json.loads(line) for line in proc.stderr.splitlines()]
    assert [(r["event"], r["entity"], r["level"]) for r in records if r["event"] != "start"] == [
        ("plan-failure", "orders", "error"), ("done", "users", "info"), ("run-end", None, "error")]
    assert records[0]["error"]["kind"] == "config" and "1 of 2 entities moved" in proc.stdout
    (tmp_path / "hygge.yml").write_text("name: p\nconcurency: 2\n")
    broken = hygge("go", "--log-format", "json", cwd=tmp_path, check=2)
    [error] = [json.loads(line) for line in broken.stderr.splitlines()]
    assert error["event"] == "error" and error["logger"] == "hygge.cli" and error["error"]["kind"] == "config"
    assert "unknown key 'concurency'" in error["message"] and broken.stdout == ""


def test_a_retry_is_logged_as_a_warning_record(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from hygge.cli import main
    from hygge.core import registry

    registry.register("home", "tick", "tests.plugins:TickHome")
    write_project(tmp_path, "name: p\noptions: {retry_backoff: 0}\n", flows={"f": """\
        home: {type: tick, rows: 10, batches: 3, fail_times: 1}
        store: {type: parquet, path: out}
        entities: [n]
        """})
    result = CliRunner().invoke(main, ["go", "--project", str(tmp_path), "--log-format", "json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stderr.splitlines()]
    [retry] = [r for r in records if r["event"] == "retry"]
    assert (retry["level"], retry["flow"], retry["entity"], retry["attempt"]) == ("warning", "f", "n", 1)
    # Each attempt ends with its own record: the one that failed, then the one that moved the rows.
    assert [(r["status"], r["rows_written"]) for r in records if r["event"] == "done"] == [("failed", 0), ("ok", 30)]


def test_log_format_json_in_a_terminal_logs_json_lines_instead_of_live_bars(tmp_path: Path) -> None:
    from tests.test_cli import read_terminal

    project = demo(tmp_path)
    screen = read_terminal(["go", "--log-format", "json"], project)
    records = [json.loads(line) for line in screen.replace("\r", "").splitlines() if line.startswith("{")]
    assert sorted(r["entity"] for r in records if r["event"] == "start") == ["events", "orders", "users"]
    assert "3 of 3 entities moved" in screen
