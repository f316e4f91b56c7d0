"""The command line end to end: init, go, dry run, debug, exit codes.

A real `hygge` process where the process is the point (the README's first run, exit codes and output as a shell
sees them, terminals, a module on PYTHONPATH); the other commands run in this process (`run_here`), which answers
alike and costs no interpreter start-up."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from hygge import __version__
from tests.helpers import assert_same_rows, read_target, run_here, run_hygge, staging_debris, write_project


def test_init_then_go_moves_every_entity_row_for_row_and_type_for_type(tmp_path: Path) -> None:
    run_hygge("init", "demo", cwd=tmp_path, check=0)
    project = tmp_path / "demo"
    proc = run_hygge("go", cwd=project, check=0)
    assert "3 of 3 entities moved" in proc.stdout
    source, lake = project / "data" / "source", project / "data" / "lake"
    for name in ("users", "orders"):
        landed = read_target(lake / name)
        assert landed.column_names[-1] == "_loaded_at"
        assert_same_rows(landed.drop_columns(["_loaded_at"]), pq.read_table(source / f"{name}.parquet"))
    events = read_target(lake / "events").drop_columns(["_loaded_at"]).rename_columns(
        ["event_id", "at", "kind", "tags", "payload", "device"])
    expected = pq.read_table(source / "events")
    assert_same_rows(events, expected, sort_by="event_id")
    # Types that often get lost on the way, checked by name.
    schema = read_target(lake / "events").schema
    assert str(schema.field("event_time").type) == "timestamp[ns, tz=UTC]"
    assert str(read_target(lake / "users").schema.field("balance").type) == "decimal128(12, 2)"
    assert staging_debris(lake) == []


def test_go_without_a_terminal_prints_timestamped_lines_and_a_summary(tmp_path: Path) -> None:
    run_here("init", "demo", cwd=tmp_path, check=0)
    proc = run_hygge("go", cwd=tmp_path / "demo", check=0)
    lines = proc.stderr.splitlines() + proc.stdout.splitlines()
    starts = [line for line in lines if " start " in line]
    assert len(starts) == 3 and all(line[:4].isdigit() and line[19] == "Z" for line in starts)
    assert "example.users" in proc.stdout and "1,000" in proc.stdout


def test_json_report_is_machine_readable_and_progress_goes_to_stderr(tmp_path: Path) -> None:
    run_here("init", "demo", cwd=tmp_path, check=0)
    proc = run_here("go", "--json", cwd=tmp_path / "demo", check=0)
    report = json.loads(proc.stdout)
    assert report["ok"] is True and report["exit_code"] == 0
    counts = {m["entity"]: (m["rows_read"], m["rows_written"], m["rows_in_target"]) for m in report["moves"]}
    assert counts == {"users": (1000, 1000, 1000), "orders": (5000, 5000, 5000), "events": (2000, 2000, 2000)}


def test_dry_run_shows_the_plan_and_moves_nothing(tmp_path: Path) -> None:
    run_here("init", "demo", cwd=tmp_path, check=0)
    proc = run_here("go", "--dry-run", cwd=tmp_path / "demo", check=0)
    assert "dry run" in proc.stdout and "example.events" in proc.stdout and "append" in proc.stdout
    assert not (tmp_path / "demo" / "data" / "lake").exists()
    report = json.loads(run_here("go", "--dry-run", "--json", cwd=tmp_path / "demo", check=0).stdout)
    users = next(m for m in report["moves"] if m["entity"] == "users")
    assert users["estimated_rows"] == 1000 and users["columns"][-1] == "_loaded_at"
    assert users["estimated_rows_exact"] is True, "a parquet footer's count"


def test_dry_run_marks_a_database_estimate_as_one(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "src.db") as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"v{i}") for i in range(1, 1235)])
        conn.execute("DELETE FROM t WHERE id < 100")  # what a database's estimate (here the highest rowid) misses
    write_project(tmp_path, "name: p\n", flows={"f": """\
        home: {type: sqlite, path: src.db}
        store: {type: parquet, path: out}
        entities: [t]
        """})
    assert "~1,234" in run_here("go", "--dry-run", cwd=tmp_path, check=0).stdout
    move = json.loads(run_here("go", "--dry-run", "--json", cwd=tmp_path, check=0).stdout)["moves"][0]
    assert (move["estimated_rows"], move["estimated_rows_exact"]) == (1234, False)


def test_debug_passes_on_a_new_project_and_explains_a_missing_home(tmp_path: Path) -> None:
    run_here("init", "demo", cwd=tmp_path, check=0)
    project = tmp_path / "demo"
    assert "all checks passed" in run_here("debug", cwd=project, check=0).stdout
    (project / "data" / "source").rename(project / "data" / "elsewhere")
    proc = run_here("debug", cwd=project, check=1)
    assert "home path data/source: does not exist" in proc.stdout
    assert "next step: create it or fix `path` on the home" in proc.stdout


def test_corrupted_file_fails_only_its_entity_and_exit_code_is_1(tmp_path: Path) -> None:
    run_here("init", "demo", cwd=tmp_path, check=0)
    project = tmp_path / "demo"
    bad = project / "data" / "source" / "orders.parquet"
    bad.write_bytes(bad.read_bytes()[:-200])  # footer gone, as after a cut-off upload
    proc = run_hygge("go", cwd=project, check=1)
    assert "2 of 3 entities moved" in proc.stdout
    assert "flow example, entity orders: this file is not a readable parquet file" in proc.stdout
    assert "data/source/orders.parquet" in proc.stdout
    assert "next step: re-export the file from its source" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert read_target(project / "data" / "lake" / "users").num_rows == 1000
    assert not (project / "data" / "lake" / "orders").exists()


def test_config_errors_exit_2_and_list_every_problem_at_once(tmp_path: Path) -> None:
    write_project(tmp_path, """\
        name: broken
        optons: {}
        """, flows={"a": """\
        home: {type: parqet, path: in}
        store: {type: parquet, path: out, compresion: zstd}
        run_type: full_dorp
        """})
    proc = run_hygge("go", cwd=tmp_path, check=2)
    err = proc.stderr
    assert "the configuration has 4 problems" in err
    assert "hygge.yml:2 [optons]: unknown key 'optons'" in err and "did you mean 'options'?" in err
    assert "unknown home type 'parqet'" in err and "did you mean 'parquet'?" in err
    assert "flow.yml:2 [store.compresion]" in err and "did you mean 'compression'?" in err
    assert "flow.yml:3 [run_type]" in err and "did you mean 'full_drop'?" in err
    assert "Traceback" not in err


def test_verbose_shows_the_traceback_of_a_failed_entity(tmp_path: Path) -> None:
    write_project(tmp_path, "name: t\n", flows={"f": """\
        home: {type: parquet, path: missing}
        store: {type: parquet, path: out}
        entities: [users]
        """})
    quiet = run_here("go", cwd=tmp_path, check=1)
    assert "Traceback" not in quiet.stdout + quiet.stderr
    loud = run_here("go", "--verbose", cwd=tmp_path, check=1)
    assert "Traceback" in loud.stdout


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    run_here("init", "demo", cwd=tmp_path, check=0)
    proc = run_here("go", "--flow", "exampel", cwd=tmp_path / "demo", check=2)
    assert "there is no flow 'exampel'" in proc.stderr and "did you mean 'example'?" in proc.stderr
    proc = run_here("go", "--entity", "example.userz", cwd=tmp_path / "demo", check=2)
    assert "did you mean 'users'?" in proc.stderr
    assert run_here("go", "--concurrency", "0", cwd=tmp_path / "demo").returncode == 2
    proc = run_here("go", cwd=tmp_path, check=2)
    assert "no hygge project here" in proc.stderr and "hygge init NAME" in proc.stderr


def test_selecting_one_entity_and_overriding_the_run_type(tmp_path: Path) -> None:
    run_here("init", "demo", cwd=tmp_path, check=0)
    project = tmp_path / "demo"
    run_here("go", "--entity", "example.users", cwd=project, check=0)
    assert sorted(p.name for p in (project / "data" / "lake").iterdir()) == [".hygge", "users"]
    run_here("go", "-e", "example.users", "--append", cwd=project, check=0)
    assert read_target(project / "data" / "lake" / "users").num_rows == 2000
    run_here("go", "-e", "example.users", "--full-drop", cwd=project, check=0)
    assert read_target(project / "data" / "lake" / "users").num_rows == 1000


def test_init_refuses_a_folder_that_has_files(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "keep.txt").write_text("mine")
    proc = run_here("init", "demo", cwd=tmp_path, check=2)
    assert "already exists and is not empty" in proc.stderr
    assert (tmp_path / "demo" / "keep.txt").read_text() == "mine"


def test_version_and_module_entry_point(tmp_path: Path) -> None:
    assert run_hygge("--version", cwd=tmp_path, check=0).stdout.strip() == f"hygge, version {__version__}"


def test_in_a_terminal_each_entity_gets_a_live_progress_bar(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    run_here("init", "demo", cwd=tmp_path, check=0)
    leader, follower = os.openpty()
    env = {**os.environ, "COLUMNS": "160", "TERM": "xterm-256color"}
    proc = subprocess.Popen([sys.executable, "-m", "hygge", "go"], cwd=tmp_path / "demo", stdout=follower,
                            stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=120) == 0
    os.close(leader)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert "\x1b[" in screen, "a terminal gets colours and cursor movement"
    for entity in ("example.users", "example.orders", "example.events"):
        assert entity in screen
    assert "━" in screen and "✓ ok" in screen and "rows/s" in screen
    assert " start " not in screen, "log lines are for output that is not a terminal"


def test_a_note_many_entities_share_is_said_once(tmp_path: Path) -> None:
    from hygge.samples import users

    (tmp_path / "in").mkdir()
    for i in range(6):
        pq.write_table(users(10), tmp_path / "in" / f"t{i}.parquet")
    write_project(tmp_path, "name: notes\n", flows={"f": """\
        home: {type: parquet, path: in}
        store: {type: parquet, path: out}
        entities: "*"
        """})
    proc = run_here("go", cwd=tmp_path, check=0)
    notes = [line for line in proc.stdout.splitlines() if line.startswith("note:")]
    assert notes == ["note: 6 entities (f.t0, f.t1, f.t2 and 3 more): 1 file(s) copied whole: nothing about their "
                     "rows changed"]
    proc = run_here("go", "--entity", "f.t0", "--entity", "f.t1", cwd=tmp_path, check=0)
    notes = [line for line in proc.stdout.splitlines() if line.startswith("note:")]
    assert notes == [f"note: f.t{i}: 1 file(s) copied whole: nothing about their rows changed" for i in (0, 1)]


def read_terminal(args: list[str], cwd: Path) -> str:
    """What `hygge ARGS` shows in a terminal (a pseudo-terminal), escape codes and all."""
    import os
    import subprocess
    import sys

    leader, follower = os.openpty()
    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm-256color"}
    proc = subprocess.Popen([sys.executable, "-m", "hygge", *args], cwd=cwd, stdout=follower, stderr=follower,
                            env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_text_in_brackets_is_printed_as_it_is_by_every_command(tmp_path: Path) -> None:
    """Names, paths, messages and hints are text, not terminal markup: "[bold]" in them must not vanish."""
    import re

    from hygge.samples import users

    (tmp_path / "src").mkdir(parents=True)
    pq.write_table(users(10), tmp_path / "src" / "t.parquet")
    write_project(tmp_path, "name: p[red]\n", flows={"f": """\
        home: {type: parquet, path: src}
        store: {type: parquet, path: "out[red]"}
        entities: [{name: "t[bold]", source: t}]
        """})
    plain = run_hygge("go", cwd=tmp_path, check=0).stdout
    assert "hygge: p[red]" in plain and "f.t[bold]" in plain and "out[red]/t[bold]" in plain
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", read_terminal(["go"], tmp_path))
    assert "f.t[bold]" in screen and "✓ ok" in screen, "the live bar names the entity as it is"
    dry = run_here("go", "--dry-run", cwd=tmp_path, check=0).stdout
    assert "f.t[bold]" in dry and "out[red]/t[bold]" in dry
    assert "f.t[bold]" in run_here("history", cwd=tmp_path, check=0).stdout
    # --entity takes globs: [[] is how a glob says "[" (the name itself would match tb, to, tl, td).
    assert "f.t[[]bold]: state forgotten" in run_here("reset", "f.t[[]bold]", "--yes", cwd=tmp_path, check=0).stdout
    assert "created demo[x]/" in run_here("init", "demo[x]", cwd=tmp_path, check=0).stdout


def test_debug_prints_paths_and_install_hints_with_their_brackets(tmp_path: Path) -> None:
    import os

    # A driver that is not installed: a package of that name that cannot be imported, first on the path.
    # (pgpq: the postgres store's encoder.)
    shadow = tmp_path / "shadow" / "pgpq"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'pgpq'\", name='pgpq')\n")
    write_project(tmp_path, "name: p\n", flows={"f": """\
        home: {type: parquet, path: "data[bold]/src"}
        store: {type: postgres, url: "postgresql://nobody@127.0.0.1:1/db"}
        entities: [t]
        """})
    path = os.pathsep.join([str(tmp_path / "shadow"), os.environ.get("PYTHONPATH", "")])
    proc = run_hygge("debug", cwd=tmp_path, check=1, env={"PYTHONPATH": path})
    assert "✗ flow f: home path data[bold]/src: " in proc.stdout
    assert 'next step: pip install "hygge[postgres]"' in proc.stdout
