"""`hygge report`'s gathering: every Store family's journal read into runs, freshness, failures and state."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import hygge
from hygge.core.workspace import load_workspace
from hygge.errors import ConfigError
from hygge.report import gather, render
from tests.contract.suite import Engine, Place, engine_fixtures
from tests.contract.test_delta import ENGINE as DELTA
from tests.contract.test_iceberg import ENGINE as ICEBERG
from tests.contract.test_parquet import ENGINE as PARQUET
from tests.contract.test_postgres import ENGINE as POSTGRES
from tests.contract.test_sqlite import ENGINE as SQLITE

T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
# Each way a journal is kept: history lines, a database's tables, a Delta log, Iceberg snapshots.
STORES = {"parquet": PARQUET, "sqlite": SQLITE, "postgres": POSTGRES, "delta": DELTA, "iceberg": ICEBERG}


def items(ids: range, extra: bool = False) -> pa.Table:
    columns = {"id": pa.array(list(ids), pa.int64()),
               "updated_at": pa.array([T0 + timedelta(minutes=i) for i in ids], pa.timestamp("us", tz="UTC"))}
    if extra:
        columns["colour"] = pa.array(["red"] * len(ids))
    return pa.table(columns)


engine, place = engine_fixtures(STORES)


def project(place: Place, engine: Engine) -> Path:
    root = place.root / "proj"
    (root / "src").mkdir(parents=True)
    store = json.dumps(engine.store(place))
    (root / "hygge.yml").write_text(textwrap.dedent(f"""\
        name: gathered
        options: {{concurrency: 1}}  # two moves opening a new SQLite file at once can find it locked
        flows:
          shop:
            home: {{type: parquet, path: src}}
            store: {store}
            entities:
              - name: items
                run_type: incremental
                watermark: updated_at
                expect_every: 1h
              - name: broken
        """), encoding="utf-8")
    return root


def test_runs_state_and_changes_of_every_store_family(engine: Engine, place: Place) -> None:
    root = project(place, engine)
    pq.write_table(items(range(10)), root / "src" / "items.parquet")
    pq.write_table(items(range(3)), root / "src" / "broken.parquet")
    assert hygge.run(root).ok
    pq.write_table(items(range(10, 15), extra=True), root / "src" / "items.parquet")  # a new column: a schema change
    (root / "src" / "broken.parquet").write_bytes(b"PAR1 this is not a parquet file")  # damaged since
    second = hygge.run(root)
    assert second.move("shop.items").ok and not second.move("shop.broken").ok

    report = gather(load_workspace(root))
    assert [e.key for e in report.entities] == ["shop.broken", "shop.items"]
    broken, good = report.entities
    assert [r.record.status for r in good.runs] == ["ok", "ok"]
    assert [r.record.rows_written for r in good.runs] == [10, 5]
    assert good.runs[-1].record.rows_in_target == 15
    assert all(r.seconds is not None and r.rows_per_second is not None for r in good.runs)
    assert good.watermark_column == "updated_at" and good.watermark["shown"] == "2024-05-01T00:14:00Z"
    assert good.expect_every == "1h" and good.expect_seconds == 3600
    assert any("new column colour" in line for line in good.runs[-1].record.schema_changes), good.runs[-1].record
    assert good.runs[0].record.schema_changes == []
    assert good.location.endswith("items"), good.location

    assert [r.record.status for r in broken.runs] == ["ok", "failed"]
    failure = broken.failures[0]
    assert "broken" in (failure.record.error or "") and failure.next_step, failure.record.error
    assert broken.last_success is broken.runs[0] and broken.expect_every is None
    assert [e.key for e in report.failing()] == ["shop.broken"]

    # Freshness is measured from the last successful load's end, against the entity's expect_every.
    ended = good.last_success.ended if good.last_success else None
    assert ended is not None
    assert not good.overdue(ended + timedelta(minutes=59)) and good.overdue(ended + timedelta(minutes=61))
    assert not broken.overdue(ended + timedelta(days=30)), "without expect_every nothing is ever overdue"


def test_an_entity_that_never_succeeded_is_overdue_and_older_records_still_load(tmp_path: Path) -> None:
    root = project(Place(tmp_path, "files"), PARQUET)
    (root / "src" / "broken.parquet").write_bytes(b"not parquet")
    assert not hygge.run(root, entities=["shop.items"]).ok  # items has no source file at all
    journal = root.parent / "lake" / ".hygge" / "history.jsonl"
    # A line as hygge wrote it before runs kept their schema changes, with a key this hygge does not know.
    older = {"run_id": "20240101T000000-0000abcd", "flow": "shop", "entity": "broken", "run_type": "full_drop",
             "started_at": "2024-01-01T00:00:00+00:00", "ended_at": "2024-01-01T00:00:02+00:00", "status": "ok",
             "rows_read": 7, "rows_written": 7, "rows_in_target": 7, "some_future_field": 1}
    with open(journal, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(older) + "\n")
    report = gather(load_workspace(root), now=datetime(2024, 1, 1, 1, tzinfo=timezone.utc))
    items_, broken = report.entity("shop.items"), report.entity("shop.broken")
    assert items_.last_success is None and items_.overdue(report.generated_at)
    assert [r.record.rows_written for r in broken.runs] == [7] and broken.runs[0].seconds == 2.0
    assert broken.runs[0].record.schema_changes == []
    assert broken.age(report.generated_at) == 3600 - 2
    assert [e.key for e in report.overdue()] == ["shop.items"]


def test_expect_every_takes_a_duration_and_says_what_it_expected(tmp_path: Path) -> None:
    root = project(Place(tmp_path, "files"), PARQUET)
    text = (root / "hygge.yml").read_text(encoding="utf-8")
    (root / "hygge.yml").write_text(text.replace("expect_every: 1h", "expect_every: hourly"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    message = str(caught.value)
    assert "hygge.yml:11" in message and "expect_every" in message and "'hourly'" in message
    assert "30m, 2h, 1d" in message
    for good, seconds in (("30m", 1800), ("2d", 172800), ("45", 45), ("1.5h", 5400)):
        (root / "hygge.yml").write_text(text.replace("expect_every: 1h", f"expect_every: {good}"), encoding="utf-8")
        assert gather(load_workspace(root)).entity("shop.items").expect_seconds == seconds
    (root / "hygge.yml").write_text(text.replace("expect_every: 1h", "expect_every: 0s"), encoding="utf-8")
    with pytest.raises(ConfigError, match="positive duration"):
        load_workspace(root)


def test_the_page_is_self_contained(tmp_path: Path) -> None:
    root = project(Place(tmp_path, "files"), PARQUET)
    pq.write_table(items(range(4)), root / "src" / "items.parquet")
    hygge.run(root)
    page = render(gather(load_workspace(root)))
    assert page.startswith("<!doctype html>") and "<svg" in page
    links = re.findall(r"""\b(?:src|href|xlink:href|action)\s*=\s*["']?([^"'\s>]*)""", page, flags=re.I)
    assert links and all(link.startswith("#") for link in links), links
    assert not re.search(r"https?://|url\(|@import|<link\b|<iframe\b|<img\b", page, flags=re.I)


def test_column_changes_say_what_a_commit_did_to_the_columns() -> None:
    from hygge.core.schema_changes import column_changes

    before = [{"name": "id", "type": "int32"}, {"name": "name", "type": "string"}, {"name": "gone", "type": "date32"}]
    after = [{"name": "id", "type": "int64"}, {"name": "name", "type": "string"}, {"name": "tier", "type": "string"}]
    assert column_changes(before, after) == [
        "new column tier (string)", "column gone (date32) is no longer in the target",
        "column id is now int64 (was int32)"]
    assert column_changes(before, before) == []
    assert column_changes(None, after) == [] and column_changes([], after) == [], "a first load changes nothing"


def test_a_store_that_cannot_be_read_is_named_and_the_others_are_still_reported(tmp_path: Path) -> None:
    root = project(Place(tmp_path, "files"), PARQUET)
    pq.write_table(items(range(4)), root / "src" / "items.parquet")
    with open(root / "hygge.yml", "a", encoding="utf-8") as handle:
        handle.write("  away:\n    home: {type: parquet, path: src}\n"
                     "    store: {type: postgres, url: 'postgresql://postgres@127.0.0.1:9/nowhere'}\n"
                     "    entities: [items]\n")
    hygge.run(root, flows=["shop"])
    report = gather(load_workspace(root))
    assert [r.record.rows_written for r in report.entity("shop.items").runs] == [4]
    assert any(p.startswith("flow away: its store's history could not be read") for p in report.problems), report
    away = report.entity("away.items")
    assert away.runs == [] and away.problem and "its state could not be read" in away.problem
    assert "away.items" in render(report) and "could not be read" in render(report)
