"""Two entities settling in one target of one store would share its state (one watermark, one list of loaded
files) and replace each other's rows: an incremental entity then never loaded (exit 0). Such entities fail,
naming each other; the rest of the run goes on."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.helpers import read_target, run_here, write_project


def sources(root: Path, *names: str) -> None:
    for number, name in enumerate(names):
        (root / "src" / name).mkdir(parents=True)
        pq.write_table(pa.table({"id": [number * 10 + i for i in range(3)], "ts": [1, 2, 3]}),
                       root / "src" / name / "1.parquet")


def test_two_entities_of_one_flow_in_one_target_fail_and_the_others_move(tmp_path: Path) -> None:
    sources(tmp_path, "a", "b", "c")
    write_project(tmp_path, """\
        name: shared
        flows:
          f:
            home: {type: parquet, path: src}
            store: {type: parquet, path: lake}
            run_type: incremental
            entities:
              - {name: a, target: e, watermark: ts}
              - {name: b, target: E, watermark: ts}
              - {name: c, watermark: ts}
        """)
    proc = run_here("go", cwd=tmp_path, check=2)
    assert "entity f.a settles in target 'e', as f.b does, in the same store" in proc.stdout
    assert "entity f.b settles in target 'E', as f.a does" in proc.stdout
    assert "give each entity a `target:` of its own" in proc.stdout
    assert not (tmp_path / "lake" / "e").exists() and not (tmp_path / "lake" / "E").exists()
    assert sorted(read_target(tmp_path / "lake" / "c")["id"].to_pylist()) == [20, 21, 22]


def test_entities_of_two_flows_in_one_target_fail_also_when_run_one_at_a_time(tmp_path: Path) -> None:
    sources(tmp_path, "a", "b")
    store = "store: {type: sqlite, path: w.db}"
    write_project(tmp_path, f"""\
        name: shared
        flows:
          one:
            home: {{type: parquet, path: src}}
            {store}
            entities: [{{name: a, target: t}}]
          two:
            home: {{type: parquet, path: src}}
            {store}
            entities: [{{name: b, target: t}}]
          elsewhere:
            home: {{type: parquet, path: src}}
            store: {{type: sqlite, path: other.db}}
            entities: [{{name: b, target: t}}]
        """)
    proc = run_here("go", "--flow", "one", cwd=tmp_path, check=2)
    assert "entity one.a settles in target 't', as two.b does, in the same store" in proc.stdout
    assert not (tmp_path / "w.db").exists()
    run_here("go", "--flow", "elsewhere", cwd=tmp_path, check=0)  # the same name in another store is its own


def test_a_disabled_copy_of_a_flow_claims_nothing_until_it_is_run(tmp_path: Path) -> None:
    sources(tmp_path, "a")
    flow = """\
            home: {type: parquet, path: src}
            store: {type: parquet, path: lake}
            entities: [a]"""
    write_project(tmp_path, f"""\
        name: shared
        flows:
          current:
{flow}
          old:
{flow}
            enabled: false
        """)
    run_here("go", cwd=tmp_path, check=0)
    assert sorted(read_target(tmp_path / "lake" / "a")["id"].to_pylist()) == [0, 1, 2]
    proc = run_here("go", "--flow", "old", cwd=tmp_path, check=2)
    assert "entity old.a settles in target 'a', as current.a does, in the same store" in proc.stdout


def test_one_folder_or_database_spelt_two_ways_is_one_store(tmp_path: Path) -> None:
    """`path: lake`, `./lake/` and the absolute path are one folder, whatever else the stores set (a codec, a
    part size); a named connection and an inline one to the same SQLite file are one database. Before, only
    store settings written identically were told apart, and such entities replaced each other's rows."""
    sources(tmp_path, "a", "b", "c", "d")
    write_project(tmp_path, f"""\
        name: spelt
        connections:
          warehouse: {{type: sqlite, path: w.db, options: {{busy_timeout: 1000}}}}
        flows:
          one:
            home: {{type: parquet, path: src}}
            store: {{type: parquet, path: lake}}
            entities: [{{name: a, target: t}}]
          two:
            home: {{type: parquet, path: src}}
            store: {{type: parquet, path: "./lake/", compression: zstd}}
            entities: [{{name: b, target: t}}]
          three:
            home: {{type: parquet, path: src}}
            store: {{type: sqlite, connection: warehouse}}
            entities: [{{name: c, target: t}}]
          four:
            home: {{type: parquet, path: src}}
            store: {{type: sqlite, connection: {{path: "{tmp_path / 'w.db'}"}}}}
            entities: [{{name: d, target: t}}]
        """)
    proc = run_here("go", cwd=tmp_path, check=2)
    assert "entity one.a settles in target 't', as two.b does, in the same store" in proc.stdout, proc.stdout
    assert "entity two.b settles in target 't', as one.a does" in proc.stdout
    assert "entity three.c settles in target 't', as four.d does, in the same store" in proc.stdout
    assert "entity four.d settles in target 't', as three.c does" in proc.stdout
    assert not (tmp_path / "lake" / "t").exists() and not (tmp_path / "w.db").exists()
