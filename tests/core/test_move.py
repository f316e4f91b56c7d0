"""One Move: polish steps, the reader/writer pipe, failures on either side, Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.core.pipe import Pipe, pump
from hygge.core.polish import Polisher
from hygge.errors import Cancelled, ReadError
from hygge.samples import orders, users
from tests.helpers import read_target, staging_debris, write_project


def setup_source(tmp: Path, name: str, table: pa.Table) -> None:
    (tmp / "in").mkdir(exist_ok=True)
    pq.write_table(table, tmp / "in" / f"{name}.parquet")


def test_polish_select_drop_rename_constants_and_load_timestamp(tmp_path: Path) -> None:
    setup_source(tmp_path, "users", users(10))
    before = datetime.now(timezone.utc)
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "parquet", "path": "out"}, "users",
                        root=tmp_path, polish={"select": ["user_id", "name", "city"], "drop": ["balance"],
                                               "rename": {"user_id": "id"}, "constants": {"source": "crm", "v": 2},
                                               "load_timestamp": "_loaded_at"})
    assert result.ok, result.error
    table = read_target(tmp_path / "out" / "users")
    assert table.column_names == ["id", "name", "city", "source", "v", "_loaded_at"]
    assert table.column("id").to_pylist() == list(range(1, 11))
    assert set(table.column("source").to_pylist()) == {"crm"} and table.schema.field("v").type == pa.int64()
    stamps = set(table.column("_loaded_at").to_pylist())
    assert len(stamps) == 1 and before <= stamps.pop() <= datetime.now(timezone.utc)
    assert table.schema.field("_loaded_at").type == pa.timestamp("us", tz="UTC")


@pytest.mark.parametrize(("polish", "message"), [
    ({"select": ["user_id", "nmae"]}, "polish select names column 'nmae'"),
    ({"drop": ["balanse"]}, "did you mean 'balance'?"),
    ({"rename": {"city": "name"}}, "polish would make two columns named name"),
    ({"load_timestamp": "city"}, "polish would make two columns named city"),
])
def test_polish_mistakes_are_explained_before_anything_is_written(tmp_path: Path, polish: dict, message: str) -> None:
    setup_source(tmp_path, "users", users(5))
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "parquet", "path": "out"}, "users",
                        root=tmp_path, polish=polish)
    assert result.status == "failed" and message in str(result.error)
    assert not (tmp_path / "out" / "users").exists()


def test_two_source_columns_of_one_name_are_the_sources_problem_not_polishes() -> None:
    """Polish reported a source with two columns named id as `[polish]: polish would make two columns named id`,
    with no polish configured. File homes now refuse such files themselves (homes/test_paths.py) and database
    homes rename such columns; a home that still yields them is told about as the source's problem."""
    schema = pa.schema([("id", pa.int64()), ("id", pa.int64()), ("name", pa.string())])
    with pytest.raises(ReadError) as caught:
        Polisher({}, schema, datetime.now(timezone.utc), flow="f", entity="t")
    text = str(caught.value)
    assert "flow f, entity t: the source has more than one column named id" in text and "columns id, id, name" in text
    assert "polish" not in text


def readers_alive() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("hygge-read")]


def test_a_reader_failure_mid_stream_aborts_the_write(tmp_path: Path) -> None:
    rows = "".join(f"{i},x\n" for i in range(30_000))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "t.csv").write_text("id,v\n" + rows + "bad,x\n")
    write_project(tmp_path, "name: t\noptions: {batch_bytes: 64KiB}\n", flows={"f": """\
        home: {type: csv, path: in}
        store: {type: parquet, path: out}
        entities: [t]
        """})
    move = hygge.run(tmp_path).move("f.t")
    assert move.status == "failed" and move.rows_read > 0, "the failure came after some batches were read"
    assert "column id has a value that is not int64" in str(move.error)
    assert not (tmp_path / "out" / "t").exists() and staging_debris(tmp_path / "out") == []
    assert readers_alive() == []


def test_a_writer_failure_mid_stream_stops_the_reader(tmp_path: Path) -> None:
    values = [float(i) for i in range(200_000)] + [float("nan")]
    setup_source(tmp_path, "m", pa.table({"x": values}))
    write_project(tmp_path, "name: t\noptions: {batch_bytes: 64KiB, queue_bytes: 128KiB}\n", flows={"f": """\
        home: {type: parquet, path: in}
        store: {type: jsonl, path: out}
        entities: [m]
        """})
    move = hygge.run(tmp_path).move("f.m")
    assert move.status == "failed" and "NaN" in str(move.error)
    assert not (tmp_path / "out" / "m").exists()
    assert readers_alive() == []


def test_the_pipe_is_bounded_in_bytes() -> None:
    batch = pa.record_batch([pa.array(range(10_000), pa.int64())], names=["n"])  # 80 KB
    pipe = Pipe(max_bytes=200_000)
    reader = pump(lambda: iter([batch] * 50), pipe)
    time.sleep(0.3)
    assert pipe.peak_bytes <= 200_000, "the reader must wait while the pipe is full"
    got = 0
    while pipe.get() is not None:
        got += 1
    reader.join(timeout=5)
    assert got == 50 and not reader.is_alive()


def test_stopping_the_pipe_releases_a_blocked_reader() -> None:
    batch = pa.record_batch([pa.array(range(10_000), pa.int64())], names=["n"])
    pipe = Pipe(max_bytes=100_000)
    reader = pump(lambda: iter([batch] * 50), pipe)
    time.sleep(0.2)
    assert reader.is_alive()
    pipe.stop()
    reader.join(timeout=2)
    assert not reader.is_alive()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        Pipe(10, cancel).get()


def test_ctrl_c_rolls_back_running_moves(tmp_path: Path) -> None:
    big = orders(600_000)
    setup_source(tmp_path, "orders", big)
    write_project(tmp_path, "name: t\noptions: {batch_bytes: 16KiB}\n", flows={"f": """\
        home: {type: parquet, path: in}
        store: {type: csv, path: out}
        entities: [orders]
        """})
    proc = subprocess.Popen([sys.executable, "-m", "hygge", "go"], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (tmp_path / "out" / ".hygge" / "staging").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "interrupted" in out + err and "Traceback" not in out + err
    assert not (tmp_path / "out" / "orders").exists()
    assert staging_debris(tmp_path / "out") == []
