"""Every Home × Store pair, with default settings, through `hygge go`: rows and values arrive exactly.

Each family is a Home and a Store. The all-types table (less what either end of a pair cannot
hold) is settled in each Home by one `hygge go`; a second `hygge go` moves every pair at once, with nothing
but `type` and the address configured on either end, so every fast path a Home or Store offers by default
(whole-file copies, polars re-encodes, DuckDB reading parquet itself) is taken where it applies; a third
reads every target back into parquet. Table engines must hand back exact types; csv and jsonl Homes infer
types, so their values are compared in the type the table had.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.contract import (
    test_csv,
    test_delta,
    test_duckdb,
    test_iceberg,
    test_jsonl,
    test_mysql,
    test_parquet,
    test_postgres,
    test_sqlite,
)
from tests.contract.alltypes import all_types
from tests.contract.suite import Engine, Place, assert_equal, files_place, source_dir
from tests.helpers import read_target, run_hygge

ENGINES: dict[str, Engine] = {e.name: e for e in (
    test_parquet.ENGINE, test_csv.ENGINE, test_jsonl.ENGINE, test_sqlite.ENGINE, test_duckdb.ENGINE,
    test_postgres.ENGINE, test_mysql.ENGINE, test_delta.ENGINE, test_iceberg.ENGINE)}
# Stores no Home reads back: their landed files are replayed and compared row for row in their own tests.
WRITE_ONLY = {"open_mirroring": "tests/stores/test_open_mirroring.py"}
# Columns a Home that infers types (no `columns:` given) cannot give back as they were: their text is ambiguous.
INFERRED_AWAY = {"csv": {"clock"}, "jsonl": {"clock", "blob"}}
ADDRESS = ("type", "path", "url", "schema", "connection", "namespace")


def defaults(config: dict[str, Any]) -> dict[str, Any]:
    """Only what says where the data is: every other setting stays at its default."""
    return {key: value for key, value in config.items() if key in ADDRESS}


def flow_yaml(name: str, home: dict[str, Any], store: dict[str, Any], entity: str, target: str) -> str:
    return f"  {name}:\n    home: {json.dumps(home)}\n    store: {json.dumps(store)}\n" \
           f"    entities: [{{name: {entity}, target: {target}}}]\n"


def go(root: Path, name: str, flows: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    project = root / name
    project.mkdir()
    (project / "hygge.yml").write_text(f"name: {name}\noptions: {{retries: 0}}\nflows:\n" + "".join(flows))
    proc = run_hygge("go", "--json", cwd=project, timeout=600, env=env)
    report = json.loads(proc.stdout)
    failed = [f"{m['flow']}: {m['error']}" for m in report["moves"] if m["status"] not in ("ok", "empty")]
    assert not failed and proc.returncode == 0, "\n".join(failed) or proc.stderr
    return report


@pytest.fixture
def places(tmp_path: Path) -> Iterator[dict[str, tuple[Place, Place]]]:
    """Per family, where it is a Home and where it is a Store (a schema or database of its own on servers)."""
    with ExitStack() as stack:
        out = {}
        for name, engine in ENGINES.items():
            pair = []
            for role in ("home", "store"):
                root = tmp_path / f"{name}_{role}"
                root.mkdir()
                opened: Iterator[Place] = (engine.place or files_place)(root, f"pairs_{name}_{role}")
                pair.append(next(opened))
                stack.callback(lambda opened=opened: next(opened, None))
            out[name] = (pair[0], pair[1])
        yield out


Side = tuple[Engine, Place, Place]  # a family, where it is a Home and where it is a Store


def pair_matrix(tmp_path: Path, sides: dict[str, Side], pairs: list[tuple[str, str]],
                env: dict[str, str] | None = None) -> None:
    """Each (home family, store family) pair moves the all-types table (less what either end cannot hold) with
    default settings: settled in the Home by one `hygge go`, moved by a second, read back by a third."""
    table = all_types()
    settle, flows, backs, expected = [], [], [], {}
    for a, b in pairs:
        (home, home_place, _), (store, _, store_place) = sides[a], sides[b]
        entity = f"from_{a}_to_{b}"
        dropped = set(home.unsupported()) | set(store.unsupported()) | INFERRED_AWAY.get(home.name, set())
        data = table.drop_columns(sorted(dropped))
        source = source_dir(tmp_path, entity, data)
        source["path"] = str(tmp_path / source["path"])
        settle.append(flow_yaml(f"settle_{entity}", source, defaults(home.store(home_place)), entity, entity))
        flows.append(flow_yaml(f"pair_{entity}", defaults(home.home(home_place)),
                               defaults(store.store(store_place)), entity, entity))
        kept = store.expected(home.expected(data))
        # Read back with the types the target holds: those of the table, or those the pair's Home inferred.
        infers = home.typed_home is not None  # csv, jsonl: without `columns:` a Home guesses types from text
        back = defaults(store.home(store_place)) if infers else store.home_for(store_place, kept.schema)
        backs.append(flow_yaml(f"back_{entity}", back, {"type": "parquet", "path": str(tmp_path / "back")},
                               entity, entity))
        expected[entity] = (kept, not infers and store.exact_types)
    go(tmp_path, "settle", settle, env)
    report = go(tmp_path, "pairs", flows, env)
    moved = {m["flow"].removeprefix("pair_"): m for m in report["moves"]}
    go(tmp_path, "back", backs, env)
    problems = []
    for entity, (kept, exact) in expected.items():
        counts = moved[entity]["rows_read"], moved[entity]["rows_written"], moved[entity]["rows_in_target"]
        if counts != (kept.num_rows,) * 3:
            problems.append(f"{entity}: read, written, in target = {counts}, expected {kept.num_rows} each")
        try:
            assert_equal(read_target(tmp_path / "back" / entity).sort_by("id"), kept, exact)
        except AssertionError as exc:
            problems.append(f"{entity}: {exc}")
    assert not problems, "\n".join(problems)


def test_every_home_to_every_store_with_default_settings(tmp_path: Path, places: dict[str, tuple[Place, Place]]
                                                           ) -> None:
    sides = {name: (engine, *places[name]) for name, engine in ENGINES.items()}
    pair_matrix(tmp_path, sides, [(a, b) for a in ENGINES for b in ENGINES])


def test_the_pair_matrix_has_every_family_on_both_sides() -> None:
    """A family added to the registry without an engine here would never meet the others."""
    from hygge.core import registry

    assert set(ENGINES) == set(registry.BUILTIN_HOMES) == set(registry.BUILTIN_STORES) - set(WRITE_ONLY), \
        "add it to ENGINES"
