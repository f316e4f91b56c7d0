"""Every pair of table engines round-trips the all-types table: A -> B -> parquet equals what A and B keep."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.contract import test_duckdb, test_mysql, test_parquet, test_postgres, test_sqlite
from tests.contract.alltypes import all_types
from tests.contract.suite import Engine, Place, assert_equal, back, files_place, move, source_dir

ENGINES: dict[str, Engine] = {e.name: e for e in (test_parquet.ENGINE, test_sqlite.ENGINE, test_duckdb.ENGINE,
                                                   test_postgres.ENGINE, test_mysql.ENGINE)}
PAIRS = [(a, b) for a in ENGINES for b in ENGINES]


def open_place(stack: ExitStack, engine: Engine, root: Path, name: str) -> Place:
    root.mkdir(parents=True, exist_ok=True)
    opener = engine.place or files_place
    places: Iterator[Place] = opener(root, name)
    stack.callback(lambda: next(places, None))
    return next(places)


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a}-to-{b}" for a, b in PAIRS])
def test_pair_round_trips_the_all_types_table(tmp_path: Path, first: str, second: str) -> None:
    a, b = ENGINES[first], ENGINES[second]
    with ExitStack() as stack:
        place_a = open_place(stack, a, tmp_path / "a", f"pair_{first}_{second}_a")
        place_b = open_place(stack, b, tmp_path / "b", f"pair_{first}_{second}_b")
        table = all_types()
        dropped = sorted(set(a.unsupported()) | set(b.unsupported()))
        source = source_dir(tmp_path, "alltypes", table)
        move(source, a.store(place_a), "alltypes", tmp_path, polish={"drop": dropped})
        move(a.home(place_a), b.store(place_b), "alltypes", tmp_path)
        expected = b.expected(a.expected(table.drop_columns(dropped)))
        assert_equal(back(tmp_path, b.home(place_b), "alltypes"), expected, a.exact_types and b.exact_types)
