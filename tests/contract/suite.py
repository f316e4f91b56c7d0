"""The contract every Home and Store keeps. An engine opts in with a small module:

    ENGINE = Engine("duckdb", home=..., store=..., conversions={...})

    class TestDuckdb(ContractSuite):
        engine = ENGINE

Conversions say, column by column, what the engine hands back (``None``: it
cannot hold the column, and refuses it loudly). Everything else must come back
exactly: same type, same values, nulls as nulls.
"""

from __future__ import annotations

import signal
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from tests.contract.alltypes import Conversion, all_types, expect
from tests.helpers import read_target, run_here, run_hygge


@dataclass
class Place:
    """Where one test's data lives: a temp folder, and a schema or database name for servers."""

    root: Path
    name: str


@dataclass
class Engine:
    name: str
    home: Callable[[Place], dict[str, Any]]
    store: Callable[[Place], dict[str, Any]]
    conversions: dict[str, Conversion | None] = field(default_factory=dict)
    # Opens and cleans the schema/database for one test (servers); files need nothing.
    place: Callable[[Path, str], Iterator[Place]] | None = None
    # Whether read-back types equal the written ones exactly (text formats re-infer them).
    exact_types: bool = True
    # Tables the engine must refuse, with a phrase the error must contain (beyond unsupported columns).
    refuses: list[tuple[pa.Table, str]] = field(default_factory=list)
    # Text formats read types back only when told them: the home config for rows of a known schema.
    typed_home: Callable[[Place, pa.Schema], dict[str, Any]] | None = None

    def home_for(self, place: Place, schema: pa.Schema) -> dict[str, Any]:
        return self.typed_home(place, schema) if self.typed_home else self.home(place)

    def unsupported(self) -> list[str]:
        return [name for name, conversion in self.conversions.items() if conversion is None]

    def expected(self, table: pa.Table) -> pa.Table:
        return expect(table, self.conversions)


def files_place(root: Path, name: str) -> Iterator[Place]:
    yield Place(root, name)


def engine_fixtures(engines: dict[str, Engine]) -> tuple[Any, Any]:
    """The `engine` fixture (each of ``engines`` in turn) and the `place` of one test on it (its own folder, or
    its own schema or database on a server), for a module to bind: ``engine, place = engine_fixtures(...)``."""

    @pytest.fixture(params=list(engines), ids=list(engines))
    def engine(request: pytest.FixtureRequest) -> Engine:
        return engines[request.param]

    @pytest.fixture
    def place(engine: Engine, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Place]:
        yield from (engine.place or files_place)(tmp_path, request.node.name)

    return engine, place


def move(home: dict[str, Any], store: dict[str, Any], entity: str, root: Path, **kwargs: Any) -> hygge.MoveResult:
    result = hygge.move(home, store, entity, root=root, **kwargs)
    assert result.ok, f"{home['type']} -> {store['type']}: {result.error}\n{result.traceback}"
    return result


def source_dir(root: Path, name: str, table: pa.Table) -> dict[str, Any]:
    folder = root / "src"
    folder.mkdir(exist_ok=True)
    pq.write_table(table, folder / f"{name}.parquet")
    return {"type": "parquet", "path": "src"}


def back(root: Path, home: dict[str, Any], entity: str) -> pa.Table:
    move(home, {"type": "parquet", "path": "back"}, entity, root)
    return read_target(root / "back" / entity).sort_by("id") if "id" in read_target(
        root / "back" / entity).column_names else read_target(root / "back" / entity)


def assert_equal(actual: pa.Table, expected: pa.Table, exact_types: bool = True) -> None:
    assert actual.column_names == expected.column_names
    for name in expected.column_names:
        a, e = actual.column(name), expected.column(name)
        if exact_types:
            assert a.type == e.type, f"column {name}: {a.type} came back, {e.type} expected"
        else:
            a = a.cast(e.type)
        assert a.to_pylist() == e.to_pylist(), f"column {name}: values differ"


class ContractSuite:
    engine: Engine

    @pytest.fixture
    def place(self, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Place]:
        opener = self.engine.place or files_place
        yield from opener(tmp_path, request.node.name)

    def test_all_types_round_trip(self, place: Place) -> None:
        table = all_types()
        dropped = self.engine.unsupported()
        source = source_dir(place.root, "alltypes", table)
        move(source, self.engine.store(place), "alltypes", place.root, polish={"drop": dropped})
        home = self.engine.home_for(place, table.drop_columns(dropped).schema)
        assert_equal(back(place.root, home, "alltypes"), self.engine.expected(table), self.engine.exact_types)

    def test_what_it_cannot_hold_is_refused_and_nothing_is_written(self, place: Place) -> None:
        cases = [(all_types().select(["id", name]), name) for name in self.engine.unsupported()]
        cases += self.engine.refuses
        if not cases:
            pytest.skip(f"{self.engine.name} holds every type of the table, and nanoseconds")
        for number, (table, phrase) in enumerate(cases):
            entity = f"refused_{number}"
            source = source_dir(place.root, entity, table)
            result = hygge.move(source, self.engine.store(place), entity, root=place.root)
            assert result.status == "failed", f"{phrase}: {self.engine.name} took what it cannot hold"
            assert phrase in str(result.error) and "next step" in str(result.error), str(result.error)
            assert result.rows_in_target is None

    def test_empty_table_keeps_its_columns(self, place: Place) -> None:
        table = all_types().select(["id", "i32", "text", "dec"]).slice(0, 0)
        source = source_dir(place.root, "empty", table)
        result = move(source, self.engine.store(place), "empty", place.root)
        assert result.status == "empty" and result.rows_in_target == 0
        again = move(self.engine.home_for(place, table.schema), {"type": "parquet", "path": "back"}, "empty",
                     place.root)
        assert again.status == "empty"
        names = read_target(place.root / "back" / "empty").column_names
        assert names == ["id", "i32", "text", "dec"]

    def test_wide_table_of_three_hundred_columns(self, place: Place) -> None:
        table = pa.table({"id": pa.array(range(50), pa.int64()),
                          **{f"col_{i:03d}": pa.array([i * r for r in range(50)], pa.int64()) for i in range(300)}})
        source = source_dir(place.root, "wide", table)
        move(source, self.engine.store(place), "wide", place.root)
        landed = back(place.root, self.engine.home_for(place, table.schema), "wide")
        assert landed.num_columns == 301 and landed.column("col_299").to_pylist() == table.column("col_299").to_pylist()

    def test_append_adds_and_full_drop_replaces(self, place: Place) -> None:
        table = all_types().select(["id", "text"])
        source = source_dir(place.root, "runs", table)
        store = self.engine.store(place)
        assert move(source, store, "runs", place.root).rows_in_target == 4
        assert move(source, store, "runs", place.root, run_type="append").rows_in_target == 8
        assert move(source, store, "runs", place.root).rows_in_target == 4

    def test_a_kill_in_the_middle_of_a_write_leaves_the_target_unchanged(self, place: Place) -> None:
        big = pa.table({"id": pa.array(range(200_000), pa.int64()),
                        "v": pa.array([f"value {i}" for i in range(200_000)])})
        source_dir(place.root, "kill", big.slice(0, 1000))
        project = place.root / "proj"
        project.mkdir()
        store = self.engine.store(place)
        (project / "hygge.yml").write_text(textwrap.dedent(f"""\
            name: kill
            options: {{batch_bytes: 64KiB, retries: 0, lock_wait: 30}}  # a killed session ends a moment late
            flows:
              f:
                home: {{type: parquet, path: {place.root / 'src'}}}
                store: {_flow_yaml(store, place.root)}
                entities: [kill]
            """))
        run_here("go", cwd=project, check=0)
        pq.write_table(big, place.root / "src" / "kill.parquet")
        killed = run_hygge("go", cwd=project, env={"HYGGE_KILL_AT": "write:3"})
        assert killed.returncode == -signal.SIGKILL
        home = self.engine.home_for(place, big.schema)
        assert back(place.root, home, "kill").num_rows == 1000, "the kill must leave the old rows, all of them"
        run_here("go", cwd=project, check=0)
        assert back(place.root, home, "kill").num_rows == 200_000


def _flow_yaml(config: dict[str, Any], root: Path) -> str:
    """A store config for a project in another folder: file paths made absolute."""
    out = dict(config)
    for key in ("path",):
        if key in out and not Path(str(out[key])).is_absolute():
            out[key] = str(root / str(out[key]))
    return "{" + ", ".join(f"{k}: {v!r}" if isinstance(v, str) else f"{k}: {v}" for k, v in out.items()) + "}"
