"""What `hygge go` shows while it works: bars that move in a real terminal, and log lines without one.

The terminal test runs `hygge go` in a pseudo-terminal (160×50, as a person's tmux) and reads the screen
bytes as they come: each entity's row count must take several increasing values before it is done, with a
total and a percentage where the source can estimate its rows, and a partitioned entity must count within
its partitions, not a whole partition at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import hygge
from hygge.progress.events import Event
from hygge.progress.plain import PlainRenderer
from tests.services import POSTGRES_URL, drop_postgres_schemas, postgres_sql, require, schema_name

ROWS = 1_200_000  # enough work that a throttled run shows its bars moving, also on a fast machine
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
BAR = re.compile(r"^\W*(?P<key>\w+\.\w+)\s.*?(?P<pct>\d+%)?\s+(?P<rows>\d[\d,]*)(?:/(?P<total>\d[\d,]*))? rows"
                 r"(?:.*?(?P<eta>eta \d+:\d\d))?")


@pytest.fixture(scope="module")
def big_table() -> Iterator[str]:
    """A postgres table never analyzed (as one just loaded): its rows are estimated from its size on disk."""
    require(POSTGRES_URL)
    schema = schema_name("progress")
    drop_postgres_schemas(schema)
    postgres_sql(f'CREATE SCHEMA "{schema}"')
    postgres_sql(f"""CREATE UNLOGGED TABLE "{schema}".big AS SELECT g AS id, 'name ' || g AS name,
                     timestamptz '2024-01-01' + g * interval '1 second' AS at
                     FROM generate_series(1, {ROWS}) g""")
    # A slow server for in-process runs: reading the view pauses 0.2 s every 50,000 rows (4.8 s in all, no CPU).
    # Declared immutable so that a query not asking for `paused` (the partition bounds) never calls it.
    postgres_sql(f"""CREATE FUNCTION "{schema}".pause_at(g bigint) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
                     BEGIN IF g % 50000 = 0 THEN PERFORM pg_sleep(0.2); END IF; RETURN 0; END $$""")
    postgres_sql(f'CREATE VIEW "{schema}".slow AS SELECT *, "{schema}".pause_at(id) AS paused FROM "{schema}".big')
    try:
        yield schema
    finally:
        drop_postgres_schemas(schema)


def project(root: Path, schema: str) -> Path:
    # Small batches make the move take a few seconds and give the bars many steps to show.
    (root / "hygge.yml").write_text(f"""name: progress
options: {{batch_bytes: 64KB, concurrency: 2}}
flows:
  whole:
    home: {{type: postgres, url: "{POSTGRES_URL}", schema: {schema}}}
    store: {{type: csv, path: whole}}
    entities: [big]
  split:
    home: {{type: postgres, url: "{POSTGRES_URL}", schema: {schema}, partition_on: id, partitions: 2}}
    store: {{type: csv, path: split}}
    entities: [big]
""")
    return root


def run_in_terminal(root: Path) -> tuple[int, list[tuple[float, bytes]]]:
    """`hygge go` on a pseudo-terminal of 160×50; what it wrote, chunk by chunk, with the time it came."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "50"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "hygge", "go"], cwd=root, stdin=follower, stdout=follower,
                            stderr=follower, env=env, close_fds=True)
    os.close(follower)
    chunks: list[tuple[float, bytes]] = []
    started = time.monotonic()
    throttle = threading.Thread(target=slow_down, args=(proc, chunks), daemon=True)
    throttle.start()
    try:
        while time.monotonic() - started < 60:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # the terminal closes when hygge exits
                    break
                if not data:
                    break
                chunks.append((time.monotonic() - started, data))
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=30), chunks
    finally:
        if proc.poll() is None:
            proc.kill()
        throttle.join(timeout=5)
        os.close(leader)


def slow_down(proc: subprocess.Popen[bytes], chunks: list[tuple[float, bytes]]) -> None:
    """Once the bars are up, let hygge run a quarter of the time (SIGSTOP, SIGCONT), as on a slow link: on a
    quiet machine 300,000 rows took a third of a second, too quick for any bar to be seen moving."""
    while proc.poll() is None and not any(b"rows" in data for _, data in chunks):
        time.sleep(0.02)
    while proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGSTOP)
            time.sleep(0.15)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.05)


def bar_lines(chunks: list[tuple[float, bytes]]) -> dict[str, list[re.Match[str]]]:
    """Every state of every entity's bar, in the order the terminal showed them."""
    screen = b"".join(data for _, data in chunks)
    seen: dict[str, list[re.Match[str]]] = {}
    for line in re.split(rb"\x1b\[2K|\r|\n", screen):
        text = ANSI.sub(b"", line).decode(errors="replace")
        match = BAR.match(text)
        if match and "rows in" not in text:
            seen.setdefault(match["key"], []).append(match)
    return seen


def test_bars_move_in_a_real_terminal_with_total_percentage_and_eta_also_within_partitions(
        tmp_path: Path, big_table: str) -> None:
    code, chunks = run_in_terminal(project(tmp_path, big_table))
    screen = ANSI.sub(b"", b"".join(data for _, data in chunks)).decode(errors="replace")
    assert code == 0, screen[-3000:]
    assert "2 of 2 entities moved" in screen, screen[-3000:]
    bars = bar_lines(chunks)
    for key in ("whole.big", "split.big"):
        moving = [int(m["rows"].replace(",", "")) for m in bars[key] if "✓" not in m.string]
        during = sorted({n for n in moving if 0 < n < ROWS})
        assert len(during) >= 3, f"{key} showed only {during} before it was done"
        assert moving == sorted(moving), f"{key} went backwards: {moving}"
        estimated = [m for m in bars[key] if m["total"]]
        assert estimated, f"{key} never showed a total"
        total = int(estimated[0]["total"].replace(",", ""))
        assert ROWS // 2 < total < ROWS * 2, total  # an estimate from the table's size, near the truth
        assert any(m["pct"] and 0 < int(m["pct"][:-1]) < 100 for m in estimated), f"{key} showed no percentage"
        assert any(m["eta"] for m in estimated), f"{key} showed no time left"
        assert re.search(rf"{re.escape(key)}.*\b\d[\d.]* [KM]B read", screen), f"{key} showed no bytes read"
        assert any(f"{key} " in line and f"{ROWS:,} rows" in line and "✓ ok" in line for line in screen.splitlines())
    # Two partitions of about 600,000 rows each: counted when staged, the bar would jump from 0 to ~600,000.
    split = sorted({int(m["rows"].replace(",", "")) for m in bars["split.big"]})
    assert any(0 < n < ROWS // 4 for n in split), f"the partitioned entity moved a partition at a time: {split}"


def test_plain_lines_report_long_moves_every_few_seconds_and_stay_quiet_for_short_ones(tmp_path: Path) -> None:
    from hygge.core import registry

    registry.register("home", "tick", "tests.plugins:TickHome")
    often_log, quiet_log = io.StringIO(), io.StringIO()
    often, quiet = PlainRenderer(often_log, every=0.2), PlainRenderer(quiet_log)

    def both(event: Event) -> None:
        often(event)
        quiet(event)

    # 8 batches of 1,000 rows, 0.15 s apart: a move of about 1.2 s, lines every 0.2 s.
    home = {"type": "tick", "rows": 1000, "batches": 8, "pause": 0.15}
    result = hygge.move(home, {"type": "csv", "path": "out"}, "ticks", root=tmp_path, on_event=both)
    assert result.ok and result.rows_written == 8000, result.error
    lines = [line for line in often_log.getvalue().splitlines() if " moving " in line]
    assert len(lines) >= 2, often_log.getvalue()
    counts = [int(re.search(r"moving\s+\S+\.ticks\s+([\d,]+) ", line)[1].replace(",", "")) for line in lines]
    assert counts == sorted(counts) and counts[0] < 8000, counts
    assert re.search(r"of about 8,000 rows \(\d+%\)  .*rows/s  .*B read", lines[0]), lines[0]
    # The default (a line every 10 s) says only start and done for a move of a second.
    said = quiet_log.getvalue().splitlines()
    assert len(said) == 2 and " start " in said[0] and "8,000 rows" in said[1], said


def test_a_postgres_stream_hands_rows_over_in_slices_of_a_few_megabytes_with_default_batches(
        tmp_path: Path, big_table: str) -> None:
    """The driver hands a COPY stream over a batch at a time: with 32 MB batches, a table of 15 MB came as
    one batch, after the whole query, and a bar stood at 0 until then."""
    from hygge.core.plan import MovePlan
    from hygge.core.planner import open_home
    from hygge.db.postgres import STREAM_BATCH_BYTES

    home = {"type": "postgres", "url": POSTGRES_URL, "schema": big_table}
    plan = MovePlan("f", "big", "big", "big", home, {"type": "csv", "path": "out"}, "full_drop", str(tmp_path))
    assert plan.batch_bytes > 4 * STREAM_BATCH_BYTES
    source = open_home(tmp_path, home, {}).open(plan)
    try:
        sizes = [(batch.num_rows, batch.nbytes) for batch in source.batches()]
    finally:
        source.close()
    assert sum(rows for rows, _ in sizes) == ROWS
    assert sum(nbytes for _, nbytes in sizes) > 1.5 * STREAM_BATCH_BYTES  # else the test proves nothing
    assert len(sizes) >= 2 and max(nbytes for _, nbytes in sizes) < 1.5 * STREAM_BATCH_BYTES, sizes


def test_partitions_on_dask_workers_count_as_they_read(tmp_path: Path, big_table: str) -> None:
    """Workers cannot bump the move's count: they tell it on a topic, and the bar moves within partitions."""
    distributed = pytest.importorskip("distributed")
    root = project(tmp_path, big_table)
    seen: list[Event] = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as c:
        on_cluster = f"executor: dask, scheduler: {c.scheduler_address}}}"
        (root / "hygge.yml").write_text((root / "hygge.yml").read_text().replace("concurrency: 2}", on_cluster))
        # The slow view: a partition takes seconds, many of the workers' half-second reports.
        (root / "hygge.yml").write_text((root / "hygge.yml").read_text().replace("entities: [big]", "entities: [slow]"))
        result = hygge.run(root, flows=["split"], on_event=seen.append)
    assert result.ok and result.moves[0].rows_written == ROWS, result.moves[0].error
    counts = [e.rows for e in seen if e.kind == "progress"]
    assert counts == sorted(counts) and counts[-1] == ROWS, counts
    # Two partitions of about 150,000 rows: counted only when staged, the first count would be one of them.
    assert any(0 < n < ROWS // 4 for n in counts), f"the partitions counted only when staged: {counts}"


def test_an_incremental_read_after_a_watermark_shows_no_total_of_the_whole_table(
        tmp_path: Path, big_table: str) -> None:
    """The table's estimate is a total for a full read only: after the watermark it would be a bar stuck at 0%."""
    postgres_sql(f'CREATE TABLE "{big_table}".small AS SELECT g AS id FROM generate_series(1, 1000) g')
    postgres_sql(f'ANALYZE "{big_table}".small')
    home = {"type": "postgres", "url": POSTGRES_URL, "schema": big_table}
    store = {"type": "csv", "path": "out"}

    def started(run: int) -> Event:
        seen: list[Event] = []
        result = hygge.move(home, store, "small", run_type="incremental", watermark="id", root=tmp_path,
                            on_event=seen.append)
        assert result.ok and result.rows_written == run, result.error
        return next(e for e in seen if e.kind == "start")

    assert started(1000).total_rows == 1000  # the first run reads the whole table
    postgres_sql(f'INSERT INTO "{big_table}".small SELECT generate_series(1001, 1010)')
    assert started(10).total_rows is None
