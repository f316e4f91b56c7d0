"""Start-up cost is part of every run: a move imports only what its Home and Store need."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SCRIPT = textwrap.dedent("""
    import sys
    import hygge
    from hygge.core import lazy

    root = sys.argv[1]
    to_db = hygge.move({"type": "parquet", "path": "in"}, {"type": "sqlite", "path": "out.sqlite"}, "t", root=root)
    back = hygge.move({"type": "sqlite", "path": "out.sqlite"}, {"type": "parquet", "path": "out"}, "t", root=root)
    assert to_db.ok and back.ok, (to_db, back)
    print("polars imported:", "polars" in sys.modules)
    # hidden only while the driver manager imported: polars itself still imports afterwards
    print("polars works:", lazy.polars().DataFrame({"a": [1, 2]}).height == 2)
""")


def test_a_database_move_does_not_import_polars(tmp_path: Path) -> None:
    # adbc_driver_manager imports polars whenever it is installed (about 90 ms of every run) for a
    # parameter backend hygge never binds with.
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"id": [1, 2, 3], "name": ["a", "b", None]}), tmp_path / "in" / "t.parquet")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["polars imported: False", "polars works: True"]
    assert pq.read_table(tmp_path / "out" / "t").num_rows == 3
