"""An unclosed quote in a CSV file fails the move: counted while the file is read, so before anything publishes.

The count rides on the reader's stream (formats/quotes.py); these tests read real files into real stores and
check the target after the refusal: old rows, old state, no part of the bad file.
"""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import duckdb
import pytest

import hygge
from tests.helpers import read_target

QUOTE_ERROR = "a quote in this CSV file is never closed"


def write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode(encoding)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def rows(count: int, start: int = 0) -> str:
    return "".join(f'{i},"v{i}"\n' for i in range(start, start + count))


@pytest.mark.parametrize(("name", "text", "encoding", "quotes"), [
    ("t.csv", 'id,s\n1,"a"\n2,"swallows the rest\n3,"c"\n', "utf-8", 5),  # the stray quote in the last column
    ("t.csv", 'id,s,n\n1,"a",1\n2,"swallows,2\n3,"c",3\n', "utf-8", 5),  # ... or a row left short: Arrow says so
    ("t.csv.gz", 'id,s\n1,"a"\n2,"swallows the rest\n', "utf-8", 3),  # counted as the codec gives the bytes out
    ("t.csv", 'id,s\n1,"a"\n2,"swallows the rest\n', "utf-16", 3),  # a quote of two bytes
])
def test_an_unclosed_quote_is_refused_by_name_whatever_else_the_reader_finds(tmp_path: Path, name: str, text: str,
                                                                             encoding: str, quotes: int) -> None:
    write(tmp_path / "in" / name, text, encoding)
    result = hygge.move({"type": "csv", "path": "in", "encoding": encoding}, {"type": "parquet", "path": "out"}, "t",
                        root=tmp_path)
    assert result.status == "failed" and QUOTE_ERROR in str(result.error), result.error
    assert name in str(result.error) and f"odd number ({quotes}) of \" characters" in str(result.error)
    assert not (tmp_path / "out" / "t").exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_balanced_quotes_load_every_row(tmp_path: Path, encoding: str) -> None:
    # "∀Ā" is 00 22 00 01 in UTF-16: a quote's two bytes across two characters, which is no quote
    write(tmp_path / "in" / "t.csv", "id,s\n" + rows(3_000) + '3000,"two ""quoted"" words, a comma and ∀Ā"\n',
          encoding)
    result = hygge.move({"type": "csv", "path": "in", "encoding": encoding}, {"type": "parquet", "path": "out"}, "t",
                        root=tmp_path, batch_bytes=1 << 16)
    assert result.ok and result.rows_written == 3_001, result.error
    assert read_target(tmp_path / "out" / "t").column("s").to_pylist()[-1] == 'two "quoted" words, a comma and ∀Ā'


@pytest.mark.parametrize("stray", [True, False])
def test_a_row_longer_than_a_read_block_restarts_the_count_with_the_read(tmp_path: Path, stray: bool) -> None:
    # 64 KiB blocks: the 300 KB value straddles them and the file is read again from its start with larger ones;
    # the quotes of the first, abandoned read must not count twice.
    text = "id,s\n" + rows(2_000) + f'2000,"{"x" * 300_000}"\n' + rows(2_000, 2_001)
    write(tmp_path / "in" / "t.csv", text + ('4001,"stray\n' if stray else ""))
    result = hygge.move({"type": "csv", "path": "in"}, {"type": "parquet", "path": "out"}, "t", root=tmp_path,
                        batch_bytes=1 << 16)
    if stray:
        assert result.status == "failed" and QUOTE_ERROR in str(result.error), result.error
    else:
        assert result.ok and result.rows_written == 4_001, result.error
        assert len(read_target(tmp_path / "out" / "t").column("s").to_pylist()[2_000]) == 300_000


def sqlite_rows(path: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute("SELECT id, s FROM t").fetchall())


def duckdb_rows(path: Path) -> list[tuple[int, str]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return sorted(conn.execute("SELECT id, s FROM t").fetchall())


@pytest.mark.parametrize(("run_type", "store"), [
    ("full_drop", "parquet"), ("append", "sqlite"), ("merge", "duckdb"), ("incremental", "sqlite"),
])
def test_rows_read_before_the_count_fails_are_never_published(tmp_path: Path, run_type: str, store: str) -> None:
    # Many batches reach the store before the last byte shows the quote unclosed: the store must keep them staged.
    stores = {"parquet": {"type": "parquet", "path": "out"}, "sqlite": {"type": "sqlite", "path": "db.sqlite"},
              "duckdb": {"type": "duckdb", "path": "db.duckdb"}}
    settings: dict[str, object] = {"keys": ["id"]} if run_type == "merge" else {}
    if run_type == "incremental":
        settings = {"watermark": "id"}
    home = {"type": "csv", "path": "in"}

    def run() -> hygge.MoveResult:
        return hygge.move(home, stores[store], "t", root=tmp_path, run_type=run_type, batch_bytes=1 << 16,
                          retries=0, **settings)

    write(tmp_path / "in" / "t.csv", "id,s\n" + rows(10))
    first = run()
    assert first.ok and first.rows_written == 10, first.error
    write(tmp_path / "in" / "t.csv", "id,s\n" + rows(20_000) + '20000,"stray\n')
    second = run()
    assert second.status == "failed" and QUOTE_ERROR in str(second.error), second.error
    expected = [(i, f"v{i}") for i in range(10)]
    if store == "parquet":
        table = read_target(tmp_path / "out" / "t")
        assert sorted(zip(table.column("id").to_pylist(), table.column("s").to_pylist(), strict=True)) == expected
    elif store == "sqlite":
        assert sqlite_rows(tmp_path / "db.sqlite") == expected
    else:
        assert duckdb_rows(tmp_path / "db.duckdb") == expected
    # the state is the first run's: fixed, the file loads whole (an incremental run from the old watermark)
    write(tmp_path / "in" / "t.csv", "id,s\n" + rows(20_001))
    third = run()
    assert third.ok, third.error
    assert third.rows_written == (20_001 if run_type in ("full_drop", "merge", "append") else 19_991)


def test_with_an_escape_character_the_quotes_are_not_counted(tmp_path: Path) -> None:
    # An escaped quote closes nothing: its file holds an odd number of quote characters and is well formed.
    write(tmp_path / "in" / "t.csv", 'id,s\n1,"say \\"hi"\n')
    result = hygge.move({"type": "csv", "path": "in", "escape": "\\", "double_quote": False},
                        {"type": "parquet", "path": "out"}, "t", root=tmp_path)
    assert result.ok, result.error
    assert read_target(tmp_path / "out" / "t").column("s").to_pylist() == ['say "hi']
