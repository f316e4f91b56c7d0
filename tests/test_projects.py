"""Two projects writing into one store keep their own state and history, for every Store family.

Their flows and entities have the same names and their targets differ; each project's watermark moves with
its own runs only, `hygge history` lists each project's runs only, and `hygge reset` forgets one project's
state. A journal written by hygge before projects were kept apart keeps working, and is adopted by the
first project that commits the entity.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.engines import EVERY_STORE
from tests.helpers import read_target, run_here, run_hygge, write_project
from tests.services import mysql_sql, postgres_sql

DATABASES = ["duckdb", "sqlite", "postgres", "mysql"]


engine, place = engine_fixtures(EVERY_STORE)


def project(engine: Engine, place: Place, name: str) -> Path:
    """Project ``name``: flow f, entity items (incremental on id), settling in the shared store as items_NAME."""
    root = place.root / name
    write_project(root, f"""\
        name: {name}
        options: {{retries: 0}}
        flows:
          f:
            home: {{type: parquet, path: in}}
            store: {json.dumps(engine.store(place))}
            run_type: incremental
            entities: [{{name: items, watermark: id, target: items_{name}}}]
        """)
    (root / "in").mkdir(exist_ok=True)
    return root


def source(root: Path, ids: range) -> None:
    pq.write_table(pa.table({"id": pa.array(ids, pa.int64()), "v": [f"row {i}" for i in ids]}),
                   root / "in" / "items.parquet")


def go(root: Path, own_process: bool = False) -> dict[str, Any]:
    """``own_process`` after a test rewrote the journal as older hygge did: a process checks its journal once."""
    run = run_hygge if own_process else run_here
    return dict(json.loads(run("go", "--json", cwd=root, check=0).stdout)["moves"][0])


def ids_in(engine: Engine, place: Place, target: str) -> list[int]:
    back = place.root / "back"
    home = engine.typed_home(place, pa.schema([("id", pa.int64()), ("v", pa.string())])) if engine.typed_home \
        else engine.home(place)
    result = hygge.move(home, {"type": "parquet", "path": str(back)}, target, root=place.root)
    assert result.ok, result.error
    return sorted(read_target(back / target).column("id").to_pylist())


def history(root: Path, own_process: bool = False) -> list[dict[str, Any]]:
    run = run_hygge if own_process else run_here
    return list(json.loads(run("history", "--json", cwd=root, check=0).stdout)["runs"])


def test_two_projects_in_one_store_never_read_or_advance_each_others_state(engine: Engine, place: Place) -> None:
    a, b = project(engine, place, "a"), project(engine, place, "b")
    source(a, range(100))
    assert (go(a)["rows_written"], go(a)["rows_written"]) == (100, 0)
    source(b, range(50))
    first_b = go(b)
    assert (first_b["rows_written"], first_b["watermark"]["value"]) == (50, 49), "b must not start from a's 99"
    source(a, range(150))
    source(b, range(60))
    assert go(a)["rows_written"] == 50 and go(b)["rows_written"] == 10
    assert ids_in(engine, place, "items_a") == list(range(150))
    assert ids_in(engine, place, "items_b") == list(range(60))

    runs_a, runs_b = history(a), history(b)
    assert len(runs_a) == 3 and {r["project"] for r in runs_a} == {"a"}
    assert len(runs_b) == 2 and {r["project"] for r in runs_b} == {"b"}
    assert "items" in run_here("history", cwd=a, check=0).stdout

    run_here("reset", "f.items", "--yes", cwd=b, check=0)
    assert go(b)["rows_written"] == 60, "b forgot its state: its next run loads everything again"
    assert go(a)["rows_written"] == 0, "a's state was not forgotten"
    assert len(history(a)) == 4 and len(history(b)) == 3


def journal_sql(engine: Engine, place: Place, statement: str) -> None:
    """Run ``statement`` on the store's journal tables (written as _hygge_state and _hygge_runs)."""
    if engine.name == "sqlite":
        with sqlite3.connect(place.root / "db" / "app.sqlite") as conn:
            conn.execute(statement)
    elif engine.name == "duckdb":
        import duckdb

        with duckdb.connect(str(place.root / "db" / "warehouse.duckdb")) as conn:
            conn.execute(statement)
    elif engine.name == "postgres":
        postgres_sql(statement.replace("_hygge_", f'"{place.name}"._hygge_'))
    else:
        mysql_sql(statement.replace("_hygge_", f"`{place.name}`._hygge_"))


NEW_STORES = {"delta", "iceberg"}


def as_older_hygge_wrote_it(engine: Engine, place: Place) -> None:
    """The journal as hygge wrote it before projects were kept apart: no project column, keys FLOW.ENTITY;
    in a file store, history lines without a project (the state is in each target's manifest)."""
    if engine.name not in DATABASES:
        history_file = place.root / "lake" / ".hygge" / "history.jsonl"
        lines = [json.loads(line) for line in history_file.read_text().splitlines()]
        history_file.write_text("".join(json.dumps({k: v for k, v in line.items() if k != "project"}) + "\n"
                                        for line in lines))
        return
    journal_sql(engine, place, "UPDATE _hygge_state SET entity_key = 'f.items'")
    for table in ("_hygge_state", "_hygge_runs"):
        journal_sql(engine, place, f"ALTER TABLE {table} DROP COLUMN project")


def test_a_journal_older_hygge_wrote_keeps_working_and_the_first_project_to_commit_adopts_it(
        engine: Engine, place: Place) -> None:
    if engine.name in NEW_STORES:
        pytest.skip(f"{engine.name} stores are new in this release: no older hygge wrote their journal")
    a, b = project(engine, place, "a"), project(engine, place, "b")
    source(a, range(100))
    go(a)
    as_older_hygge_wrote_it(engine, place)
    legacy = history(a, own_process=True)
    assert [(r["status"], r["project"]) for r in legacy] == [("ok", "")], "runs of no project: seen by all"
    assert len(history(b, own_process=True)) == 1

    source(a, range(120))
    upgraded = go(a, own_process=True)
    assert upgraded["rows_written"] == 20, "the watermark older hygge kept still holds"
    adopted = "a" if engine.name in DATABASES else ""  # a history file is only appended to
    assert [(r["run_id"], r["project"]) for r in history(a, own_process=True)] == [(legacy[0]["run_id"], adopted),
                                                                (upgraded["run_id"], "a")]
    source(b, range(30))
    assert go(b, own_process=True)["rows_written"] == 30, \
        "b starts afresh: a adopted the old state (or it is a's target's)"
    assert len(history(b, own_process=True)) == (1 if engine.name in DATABASES else 2)
    assert ids_in(engine, place, "items_a") == list(range(120))


@pytest.mark.parametrize("engine", DATABASES, indirect=True)
def test_resetting_an_entity_older_hygge_journaled_adopts_it_forgotten(engine: Engine, place: Place) -> None:
    a, b = project(engine, place, "a"), project(engine, place, "b")
    source(a, range(100))
    go(a)
    as_older_hygge_wrote_it(engine, place)
    assert "f.items: state forgotten" in run_hygge("reset", "f.items", "--yes", cwd=a, check=0).stdout
    source(a, range(120))
    assert go(a, own_process=True)["rows_written"] == 120, "forgotten: the next run loads everything"
    assert "f.items has no state to forget" in run_hygge("reset", "f.items", "--yes", cwd=b, check=0).stdout
