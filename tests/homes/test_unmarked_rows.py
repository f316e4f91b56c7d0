"""Rows with no value in the watermark column: the first (full) run loads them, a later incremental run leaves
them out (nothing is after the watermark that is not a value). From a file home that was silent: a new file's
such rows vanished with exit 0. The run now says how many it left out, and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

import hygge
from tests.helpers import read_target


@pytest.mark.parametrize(("partitions", "store"), [(1, "parquet"), (2, "sqlite")])  # one stream; two fanned in
def test_rows_without_a_watermark_are_left_out_and_counted(tmp_path: Path, partitions: int, store: str) -> None:
    src = tmp_path / "src" / "e"
    src.mkdir(parents=True)
    (src / "1.csv").write_text("id,ts\n1,10\n2,\n")
    home = {"type": "csv", "path": str(tmp_path / "src"), "partitions": partitions}
    target = {"type": store, "path": str(tmp_path / ("out" if store == "parquet" else "out.db"))}
    first = hygge.move(home, target, "e", run_type="incremental", root=tmp_path, watermark="ts")
    assert first.ok, first.error
    assert not [w for w in first.warnings if "no value in the watermark" in w]  # the full load takes them
    (src / "2.csv").write_text("id,ts\n3,20\n4,\n5,\n")
    (src / "3.csv").write_text("id,ts\n6,\n7,30\n")
    second = hygge.move(home, target, "e", run_type="incremental", root=tmp_path, watermark="ts")
    assert second.ok, second.error
    assert second.rows_written == 2
    notes = [w for w in second.warnings if "no value in the watermark" in w]
    assert notes == ["3 row(s) have no value in the watermark column ts: an incremental run reads the rows after "
                     "the watermark, which they are not, so they were left out; give them a value at the source, "
                     "or load them once with --full-drop"]
    back = hygge.move(target, {"type": "parquet", "path": str(tmp_path / "check")}, "e", root=tmp_path)
    assert back.ok, back.error
    assert sorted(read_target(tmp_path / "check" / "e")["id"].to_pylist()) == [1, 2, 3, 7]
