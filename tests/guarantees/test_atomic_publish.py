"""Guarantee 1 as a reader sees it: while runs replace an entity, every read is one whole version."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.samples import orders


@pytest.mark.parametrize("publish", ["exchange", "rename"])
def test_readers_never_see_a_mix_of_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, publish: str) -> None:
    monkeypatch.setenv("HYGGE_PUBLISH", publish)
    (tmp_path / "in").mkdir()
    versions = {20_000: orders(20_000), 35_000: orders(35_000)}
    home = {"type": "parquet", "path": "in"}
    store = {"type": "parquet", "path": "out", "target_file_size": "100KB", "row_group_bytes": "256KiB"}
    pq.write_table(versions[20_000], tmp_path / "in" / "orders.parquet")
    assert hygge.move(home, store, "orders", root=tmp_path).ok
    folder = tmp_path / "out" / "orders"
    stop = threading.Event()
    seen: list[int] = []
    refused = 0
    wrong: list[str] = []

    def reader() -> None:
        nonlocal refused
        while not stop.is_set():
            try:
                table = pq.read_table(folder)
            except (FileNotFoundError, OSError, pa.ArrowInvalid):
                refused += 1  # listed one version, opened after the switch: an error, never other data
                continue
            if table.num_columns == 0:
                # pyarrow lists the folder's names, then stats each one and silently skips names that are gone:
                # listed just before the switch, every old name is gone after it, and the read finds no files at
                # all (no schema, no rows). That is "no version", like the error above; names stat'ed before the
                # switch are opened after it and fail. Either way no row of the wrong version is ever returned.
                refused += 1
                continue
            if table.num_rows not in versions or not table.sort_by("order_id").equals(versions[table.num_rows]):
                wrong.append(f"{table.num_rows} rows")
            seen.append(table.num_rows)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(12):
            rows = 35_000 if round_ % 2 == 0 else 20_000
            pq.write_table(versions[rows], tmp_path / "in" / "orders.parquet")
            result = hygge.move(home, store, "orders", root=tmp_path)
            assert result.ok and result.rows_in_target == rows
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert wrong == [], f"readers saw data that is neither version: {wrong[:5]}"
    assert len(seen) > 10 and set(seen) == set(versions), "readers must have seen both versions"
