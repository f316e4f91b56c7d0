"""Running a file Home again: quiet when nothing changed, loud when a loaded file changed (issue 20, 5e and 6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import hygge
from hygge.cli import main
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.engines import MERGE_ENGINES
from tests.helpers import read_target, write_project

# The parquet store and one database store: each run type these tests touch, against both.
ENGINES = {name: MERGE_ENGINES[name] for name in ("parquet", "sqlite")}
TSV = "id\tname\tseen_at\n1\tann\t2024-01-02 03:04:05\n2\tbob\t2024-01-03 03:04:05\n"


engine, place = engine_fixtures(ENGINES)


def load(place: Place, engine: Engine, run_type: str, **settings: Any) -> hygge.MoveResult:
    result = hygge.move({"type": "csv", "path": str(place.root / "in")}, engine.store(place), "events",
                        root=place.root, run_type=run_type, **settings)
    assert result.ok, result.error
    return result


def landed(place: Place, engine: Engine) -> list[dict[str, Any]]:
    back = place.root / "back"
    result = hygge.move(engine.home(place), {"type": "parquet", "path": str(back)}, "events", root=place.root)
    assert result.ok, result.error
    return sorted(read_target(back / "events").select(["id", "name"]).to_pylist(), key=lambda r: (r["id"], r["name"]))


def tsv(place: Place, text: str = TSV) -> Path:
    (place.root / "in").mkdir(exist_ok=True)
    path = place.root / "in" / "events.tsv"
    path.write_text(text)
    return path


def schema_talk(warnings: list[str]) -> list[str]:
    return [w for w in warnings if "column" in w or "schema" in w]


@pytest.mark.parametrize("run_type", ["full_drop", "append", "incremental", "merge"])
@pytest.mark.parametrize("type_changes", ["widen", "fail"])
def test_an_unchanged_tsv_run_again_reports_no_schema_change(engine: Engine, place: Place, run_type: str,
                                                             type_changes: str) -> None:
    tsv(place)  # seen_at is inferred as timestamp[s]; the parquet store holds it as timestamp[ms]
    keys = {"keys": ["id"]} if run_type == "merge" else {}
    policy = {"schema_policy": {"type_changes": type_changes}}
    load(place, engine, run_type, **keys, **policy)
    again = load(place, engine, "append" if run_type == "incremental" else run_type, **keys, **policy)
    assert schema_talk(again.warnings) == []
    if run_type == "incremental":  # the second incremental run has nothing new to read
        assert load(place, engine, run_type, **policy).warnings == ["no new files since the last run"]


def test_a_dry_run_against_an_unchanged_target_shows_no_schema_change(engine: Engine, place: Place) -> None:
    tsv(place)
    store = json.dumps(engine.store(place))
    write_project(place.root, "name: quiet\n", flows={"f": f"""\
        home: {{type: csv, path: in}}
        store: {store}
        run_type: append
        entities: [events]
        """})
    runner = CliRunner()
    first = runner.invoke(main, ["go", "-p", str(place.root), "--json"])
    assert first.exit_code == 0, first.output
    dry = runner.invoke(main, ["go", "-p", str(place.root), "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["moves"][0]["drift"] == []
    text = runner.invoke(main, ["go", "-p", str(place.root), "--dry-run"])
    assert "schema change" not in text.output and "events" in text.output


def test_an_incremental_run_with_no_new_files_says_so_in_json(engine: Engine, place: Place) -> None:
    tsv(place)
    store = json.dumps(engine.store(place))
    write_project(place.root, "name: quiet\n", flows={"f": f"""\
        home: {{type: csv, path: in}}
        store: {store}
        run_type: incremental
        entities: [events]
        """})
    runner = CliRunner()
    assert runner.invoke(main, ["go", "-p", str(place.root), "--json"]).exit_code == 0
    again = runner.invoke(main, ["go", "-p", str(place.root), "--json"])
    assert again.exit_code == 0, again.output
    move = json.loads(again.stdout)["moves"][0]
    assert move["status"] == "empty" and move["warnings"] == ["no new files since the last run"]
    plain = runner.invoke(main, ["go", "-p", str(place.root)])
    assert "no new files since the last run" in plain.output and "the source had no rows" not in plain.output


@pytest.mark.parametrize("run_type", ["append", "incremental"])
def test_a_loaded_file_that_changed_is_named_when_its_rows_are_loaded_again(engine: Engine, place: Place,
                                                                            run_type: str) -> None:
    path = tsv(place)
    load(place, engine, run_type)
    with path.open("a") as handle:
        handle.write("3\tcid\t2024-01-04 03:04:05\n")
    again = load(place, engine, run_type)
    warned = [w for w in again.warnings if "changed after an earlier run loaded it" in w]
    assert len(warned) == 1 and "events.tsv" in warned[0] and "keys" in warned[0] and "full_drop" in warned[0]
    # As the README says: every row of the changed file is added again, so the first two are there twice.
    assert landed(place, engine) == [{"id": 1, "name": "ann"}, {"id": 1, "name": "ann"}, {"id": 2, "name": "bob"},
                                     {"id": 2, "name": "bob"}, {"id": 3, "name": "cid"}]


def test_a_changed_file_read_after_a_watermark_warns_of_nothing(engine: Engine, place: Place) -> None:
    path = tsv(place)
    load(place, engine, "incremental", watermark="seen_at")
    with path.open("a") as handle:
        handle.write("3\tcid\t2024-01-04 03:04:05\n")
    again = load(place, engine, "incremental", watermark="seen_at")
    assert again.rows_written == 1  # only the row after the watermark: the others are not in the target twice
    assert not [w for w in again.warnings if "changed after" in w]
    assert landed(place, engine) == [{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}, {"id": 3, "name": "cid"}]


@pytest.mark.parametrize("run_type", ["incremental", "merge", "full_drop"])
def test_a_changed_file_loaded_with_keys_or_replaced_warns_of_nothing(engine: Engine, place: Place,
                                                                     run_type: str) -> None:
    path = tsv(place)
    keys = {} if run_type == "full_drop" else {"keys": ["id"]}
    load(place, engine, run_type, **keys)
    with path.open("a") as handle:
        handle.write("3\tcid\t2024-01-04 03:04:05\n")
    again = load(place, engine, run_type, **keys)
    assert not [w for w in again.warnings if "changed after" in w]
    assert landed(place, engine) == [{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}, {"id": 3, "name": "cid"}]


def test_an_unchanged_file_run_again_by_append_is_not_named(engine: Engine, place: Place) -> None:
    tsv(place)
    load(place, engine, "append")
    again = load(place, engine, "append")
    assert not [w for w in again.warnings if "changed after" in w]


@pytest.mark.parametrize("run_type", ["append", "merge"])
def test_seconds_into_a_target_made_with_microseconds_are_no_schema_change(engine: Engine, place: Place,
                                                                          run_type: str) -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    (place.root / "made").mkdir()
    pq.write_table(pa.table({"id": pa.array([0], pa.int64()), "name": ["zed"],
                             "seen_at": pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("us"))}),
                   place.root / "made" / "events.parquet")
    keys = {"keys": ["id"]} if run_type == "merge" else {}
    made = hygge.move({"type": "parquet", "path": str(place.root / "made")}, engine.store(place), "events",
                      root=place.root, run_type=run_type, **keys)
    assert made.ok, made.error
    tsv(place)
    for _ in range(2):
        again = load(place, engine, run_type, **keys)
        assert schema_talk(again.warnings) == []
    assert [r["id"] for r in landed(place, engine)] == ([0, 1, 1, 2, 2] if run_type == "append" else [0, 1, 2])


def test_an_object_changed_on_a_bucket_after_it_was_loaded_is_named(tmp_path: Path) -> None:
    from tests.buckets import make_bucket

    bucket = make_bucket("s3", "changed-object")
    storage = bucket.storage()
    storage.put("in/events.csv", b"id,name\n1,ann\n")
    home = {"type": "csv", "path": bucket.url("in"), "connection": bucket.connection()}
    store = {"type": "sqlite", "path": "db.sqlite"}
    assert hygge.move(home, store, "events", root=tmp_path, run_type="incremental").ok
    storage.put("in/events.csv", b"id,name\n1,ann\n2,bob\n")
    again = hygge.move(home, store, "events", root=tmp_path, run_type="incremental")
    assert again.ok and again.rows_written == 2, again.error
    warned = [w for w in again.warnings if "changed after an earlier run loaded it" in w]
    assert len(warned) == 1 and bucket.url("in", "events.csv") in warned[0]
