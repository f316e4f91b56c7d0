"""CSV files as people have them: `.tsv` files, and headers that name a column twice (which came out as a polish
error, with no polish configured). Through the real command line."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.helpers import read_target, run_here, write_project
from tests.homes.test_paths import FLOW, moved


def test_a_tsv_file_is_read_with_tabs_unless_a_delimiter_is_set(tmp_path: Path) -> None:
    flow = FLOW.format(path="data", entities="[t]")
    root = write_project(tmp_path, "name: tsv\n", {"f": flow}, {"data/t.tsv": "id\tname\n1\ta,b\n2\tc\n"})
    assert moved(root) == {"t": 2}
    assert read_target(root / "lake" / "t").to_pydict() == {"id": [1, 2], "name": ["a,b", "c"]}
    # a delimiter the user set wins, even for a .tsv file
    (root / "data" / "t.tsv").write_text("id;name\n1;a\n")
    (root / "flows" / "f" / "flow.yml").write_text(flow.replace("type: csv", "type: csv\n  delimiter: ';'"))
    assert moved(root) == {"t": 1}
    assert read_target(root / "lake" / "t").to_pydict() == {"id": [1], "name": ["a"]}


def test_a_csv_header_that_names_a_column_twice_is_a_read_error_naming_the_file(tmp_path: Path) -> None:
    root = write_project(tmp_path, "name: dup\n", {"f": FLOW.format(path="data", entities="[t, u]")},
                         {"data/t.csv": "id,id,name\n1,2,a\n", "data/u.csv": "id,name\n1,a\n"})
    proc = run_here("go", cwd=root, check=1)
    assert "1 of 2 entities moved" in proc.stdout
    assert "flow f, entity t: the header of this CSV file names 'id' more than once" in proc.stdout
    assert "data/t.csv" in proc.stdout and "[polish]" not in proc.stdout and "polish" not in proc.stdout
    assert "`header: false`, `skip_rows: 1`" in proc.stdout and "column_names" in proc.stdout


def test_a_parquet_file_with_two_columns_of_one_name_is_a_read_error_naming_the_file(tmp_path: Path) -> None:
    root = write_project(tmp_path, "name: dup\n", {"f": FLOW.format(path="data", entities="[t]").replace(
        "type: csv", "type: parquet")})
    (root / "data").mkdir()
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["id", "id"])
    pq.write_table(table, root / "data" / "t.parquet")
    proc = run_here("go", cwd=root, check=1)
    assert "this file has more than one column named id" in proc.stdout and "data/t.parquet" in proc.stdout
    assert "polish" not in proc.stdout


def test_column_names_that_repeat_a_name_are_a_config_error(tmp_path: Path) -> None:
    flow = FLOW.format(path="data", entities="[t]").replace(
        "type: csv", "type: csv\n  header: false\n  column_names: [id, id]")
    root = write_project(tmp_path, "name: dup\n", {"f": flow}, {"data/t.csv": "1,2\n"})
    proc = run_here("go", cwd=root, check=2)
    assert "column_names" in proc.stdout + proc.stderr and "more than once" in proc.stdout + proc.stderr
