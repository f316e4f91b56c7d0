"""Faults survived: full disks, file size limits, refused permissions, files changing mid-read, damaged data.

Each test leaves the target either untouched or fully committed, and checks the message a person sees.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.samples import orders
from tests.helpers import read_target, run_hygge, staging_debris, write_project


def project(tmp: Path, store_path: Path | str, fmt: str = "parquet", options: str = "retries: 0") -> Path:
    write_project(tmp, f"name: faults\noptions: {{{options}}}\n", flows={"f": f"""\
        home: {{type: parquet, path: in}}
        store: {{type: {fmt}, path: "{store_path}"}}
        entities: [orders]
        """})
    (tmp / "in").mkdir(exist_ok=True)
    return tmp


def set_source(tmp: Path, rows: int) -> pa.Table:
    table = orders(rows)
    pq.write_table(table, tmp / "in" / "orders.parquet", compression="none")
    return table


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a full disk is simulated with a tiny tmpfs, which needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_the_move_and_keeps_the_last_commit(tmp_path: Path, small_disk: Path) -> None:
    root = project(tmp_path, small_disk / "lake", fmt="csv")
    set_source(tmp_path, 1000)
    run_hygge("go", cwd=root, check=0)
    before = (small_disk / "lake" / "orders" / "part-00000.csv").read_bytes()
    set_source(tmp_path, 200_000)  # about 12 MB of CSV for a 4 MB disk
    proc = run_hygge("go", cwd=root, check=1)
    assert "could not write staged data: the disk is full; the target was left as it was" in proc.stdout
    assert "free space on that disk" in proc.stdout
    assert (small_disk / "lake" / "orders" / "part-00000.csv").read_bytes() == before
    assert staging_debris(small_disk / "lake") == []


def test_a_file_size_limit_fails_the_move_cleanly(tmp_path: Path) -> None:
    root = project(tmp_path, "lake", fmt="csv")
    set_source(tmp_path, 1000)
    run_hygge("go", cwd=root, check=0)
    set_source(tmp_path, 100_000)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    env = {k: v for k, v in os.environ.items() if k != "HYGGE_KILL_AT"}
    proc = subprocess.run([sys.executable, "-m", "hygge", "go"], cwd=root, capture_output=True, text=True,
                          preexec_fn=limit, env=env, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "a file grew past the size this system allows" in proc.stdout
    assert "lower `target_file_size`" in proc.stdout
    assert read_target_csv_rows(root / "lake" / "orders") == 1000


def rows_of(folder: Path, fmt: str) -> int:
    import pyarrow.json as pjson

    if fmt == "parquet":
        return read_target(folder).num_rows
    if fmt == "csv":
        return read_target_csv_rows(folder)
    return sum(pjson.read_json(p).num_rows for p in folder.glob("part-*.jsonl"))


# Every way a file store writes bytes: its own part writers (parquet, csv, jsonl), a parquet file copied whole,
# parquet re-encoded by polars (which hands back to hygge's writer when it fails), partitions staged side by side.
FILE_WRITES = {
    "parquet": ("parquet", "", ""),
    "parquet-copied": ("parquet", "", ""),
    "parquet-polars": ("parquet", "compression: zstd", ""),
    "parquet-partitions": ("parquet", "copy_unchanged: false", "partitions: 2"),
    "csv": ("csv", "", ""),
    "jsonl": ("jsonl", "", ""),
}


def committed_then_grown(tmp: Path, lake: Path | str, way: str, rows: int) -> str:
    """A project writing ``way`` into ``lake``, committed once with 1,000 rows, its source then grown to two
    files of ``rows`` rows; returns the store's format."""
    fmt, store_extra, home_extra = FILE_WRITES[way]
    if way == "parquet":
        store_extra = "copy_unchanged: false"
    write_project(tmp, "name: faults\noptions: {retries: 0}\n", flows={"f": f"""\
        home: {{type: parquet, path: in, {home_extra}}}
        store: {{type: {fmt}, path: "{lake}", {store_extra}}}
        entities: [{{name: orders, source: "orders*"}}]
        """})
    (tmp / "in").mkdir()
    pq.write_table(orders(1000), tmp / "in" / "orders.parquet", compression="none")
    run_hygge("go", cwd=tmp, check=0)
    for index in range(2):
        pq.write_table(orders(rows), tmp / "in" / f"orders{index}.parquet", compression="none")
    (tmp / "in" / "orders.parquet").unlink()
    return fmt


def the_error(stdout: str) -> dict[str, str]:
    """The failed move's error, from `hygge go --json` (the summary wraps long paths)."""
    (move,) = json.loads(stdout)["moves"]
    assert move["status"] == "failed"
    return dict(move["error"])


def names_a_staged_file(error: dict[str, str], lake: Path, fmt: str) -> bool:
    return error["path"].startswith(str(lake / ".hygge" / "staging" / "orders")) and error["path"].endswith(f".{fmt}")


@pytest.mark.parametrize("way", FILE_WRITES)
def test_a_full_disk_says_what_ran_out_where_and_what_to_do(tmp_path: Path, small_disk: Path, way: str) -> None:
    lake = small_disk / "lake"
    fmt = committed_then_grown(tmp_path, lake, way, 300_000)  # two files of about 9 MB for a 4 MB disk
    error = the_error(run_hygge("go", "--json", cwd=tmp_path, check=1).stdout)
    assert "unexpected" not in error["message"] and "report it" not in error["hint"], error
    assert error["message"].endswith("the disk is full; the target was left as it was"), error
    assert names_a_staged_file(error, lake, fmt), error
    assert error["hint"] == "free space on that disk, or point the store elsewhere"
    assert rows_of(lake / "orders", fmt) == 1000
    assert staging_debris(lake) == []


@pytest.mark.parametrize("way", FILE_WRITES)
def test_a_file_size_limit_says_what_ran_out_where_and_what_to_do(tmp_path: Path, way: str) -> None:
    # two files of about 3 MB: past a limit of 1 MiB whichever way they are written
    fmt = committed_then_grown(tmp_path, "lake", way, 100_000)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    env = {k: v for k, v in os.environ.items() if k != "HYGGE_KILL_AT"}
    proc = subprocess.run([sys.executable, "-m", "hygge", "go", "--json"], cwd=tmp_path, capture_output=True,
                          text=True, preexec_fn=limit, env=env, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    error = the_error(proc.stdout)
    assert "unexpected" not in error["message"] and "report it" not in error["hint"], error
    assert error["message"].endswith("a file grew past the size this system allows (this process's file size "
                                     "limit, ulimit -f: 1.0 MB); the target was left as it was"), error
    assert names_a_staged_file(error, tmp_path / "lake", fmt), error
    assert "raise the file size limit (`ulimit -f`" in error["hint"] and "lower `target_file_size`" in error["hint"]
    assert "the target was left as it was" in proc.stderr, "the summary says it too"
    assert rows_of(tmp_path / "lake" / "orders", fmt) == 1000
    assert staging_debris(tmp_path / "lake") == []


def read_target_csv_rows(folder: Path) -> int:
    import pyarrow.csv as pcsv

    return sum(pcsv.read_csv(p).num_rows for p in folder.glob("part-*.csv"))


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    frozen: list[Path] = []
    yield frozen
    for path in frozen:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_a_target_that_refuses_writes_is_reported_and_left_alone(tmp_path: Path, immutable: list[Path]) -> None:
    root = project(tmp_path, "lake")
    set_source(tmp_path, 100)
    run_hygge("go", cwd=root, check=0)
    lake = root / "lake"
    folders = [lake / ".hygge" / "staging", lake / ".hygge"]
    if os.geteuid() == 0:
        # root ignores permission bits; an immutable folder refuses even root.
        for folder in folders:
            if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
                pytest.skip("chattr is not available on this file system")
            immutable.append(folder)
        expected = "operation not permitted"
    else:
        for folder in folders:
            folder.chmod(0o500)
        expected = "permission denied"
    set_source(tmp_path, 200)
    proc = run_hygge("go", cwd=root, check=1)
    assert expected in proc.stdout and "give this user write access" in proc.stdout
    assert read_target(lake / "orders").num_rows == 100


def test_a_source_file_that_changes_while_read_is_caught_and_retried(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path
    (root / "in").mkdir()
    lines = "".join(f"{i},row {i}\n" for i in range(300_000))
    source = root / "in" / "t.csv"
    source.write_text("id,v\n" + lines)
    write_project(root, "name: t\noptions: {batch_bytes: 64KiB, retries: 2, retry_backoff: 0.1}\n", flows={"f": """\
        home: {type: csv, path: in}
        store: {type: parquet, path: out}
        entities: [t]
        """})
    monkeypatch.setenv("HYGGE_PAUSE_AT", "read:2:1.5")  # the reader stops after its second batch
    result: list[hygge.RunResult] = []
    runner = threading.Thread(target=lambda: result.append(hygge.run(root)))
    runner.start()
    deadline = time.monotonic() + 30
    while not (root / "out" / ".hygge" / "staging").exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.3)  # the reader is inside its pause now
    with open(source, "a") as handle:  # a writer appending in place while hygge reads
        handle.write("300000,late row\n")
    runner.join(timeout=120)
    move = result[0].moves[0]
    assert move.ok and move.attempts >= 2, "the change was caught and the move retried"
    assert read_target(root / "out" / "t").num_rows == 300_001


def test_damaged_parquet_data_pages_are_caught(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    table = orders(50_000)
    # Written with page checksums, as hygge writes its own parquet, so damage inside a page is detectable.
    pq.write_table(table, tmp_path / "in" / "orders.parquet", write_page_checksum=True)
    data = bytearray((tmp_path / "in" / "orders.parquet").read_bytes())
    middle = len(data) // 3
    data[middle:middle + 64] = bytes(64)
    (tmp_path / "in" / "orders.parquet").write_bytes(bytes(data))
    # copy_unchanged: false, or hygge would copy the file whole (pages unread; see core/passthrough.py).
    result = hygge.move({"type": "parquet", "path": "in"}, {"type": "parquet", "path": "out", "copy_unchanged": False},
                        "orders", root=tmp_path)
    assert result.status == "failed"
    assert "could not be decoded" in str(result.error) or "not a readable parquet file" in str(result.error)
    assert "orders.parquet" in str(result.error) and not (tmp_path / "out" / "orders").exists()


@pytest.mark.parametrize(("text", "message"), [
    ('a,b\n1,"never closed\n2,3\n', "a quote in this CSV file is never closed"),
    ("a,b\n1,2\n3,4,5\n", "ragged rows"),
    ("a,b\n1,2\n3\n", "ragged rows"),
])
def test_bad_csv_is_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "t.csv").write_text(text)
    result = hygge.move({"type": "csv", "path": "in"}, {"type": "parquet", "path": "out"}, "t", root=tmp_path)
    assert result.status == "failed" and message in str(result.error)
    assert "next step" in str(result.error)


def test_quarantine_sets_bad_rows_aside_with_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "t.csv").write_text('a,b\n1,2\n3,4,5\n6,"multi\nline"\n7\n8,9\n')
    result = hygge.move({"type": "csv", "path": "in", "on_bad_rows": "quarantine"}, {"type": "parquet", "path": "out"},
                        "t", root=tmp_path)
    assert result.ok and result.rows_written == 3
    (note,) = result.warnings
    assert note.startswith("2 bad row(s) of t.csv set aside in ")
    side = Path(note.split(" set aside in ")[1])
    assert side.read_text().splitlines()[1:] == [f"{tmp_path / 'in' / 't.csv'},3,2,3,\"3,4,5\"",
                                                 f"{tmp_path / 'in' / 't.csv'},6,2,1,7"]
    assert read_target(tmp_path / "out" / "t").column("a").to_pylist() == [1, 6, 8]
