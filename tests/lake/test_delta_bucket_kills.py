"""A `hygge go` into a Delta table on S3 killed with SIGKILL (the process kills itself, by its own pid, at a
fault point): the table stays at the version before, the next run lands the data exactly once and deletes the
objects the killed run uploaded."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

import hygge
from hygge.lake.bucket import delta_options
from hygge.storage.address import parse
from hygge.storage.settings import settings_for
from tests.buckets import Bucket, make_bucket
from tests.helpers import run_hygge, write_project


def project(root: Path, bucket: Bucket) -> None:
    write_project(root, f"""\
        name: kills
        connections:
          lakebucket: {json.dumps({k: v for k, v in bucket.connection().items() if k != "type"})}
        options: {{batch_bytes: 16KiB, retries: 0}}
        flows:
          f:
            home: {{type: parquet, path: in}}
            store: {{type: delta, path: "{bucket.url('lake')}", connection: lakebucket, target_file_size: 32KiB}}
            entities: [items]
            run_type: incremental
        """)


def part(root: Path, name: str, first: int, count: int) -> pa.Table:
    table = pa.table({"id": pa.array(range(first, first + count), pa.int64()),
                      "v": [f"row {i:08d}" for i in range(first, first + count)]})
    (root / "in" / "items").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, root / "in" / "items" / name, row_group_size=1_000)
    return table


@pytest.mark.parametrize("point", ["write:3", "before-publish", "after-publish"])
def test_a_killed_run_leaves_the_previous_version_and_the_next_run_lands_exactly_once(
        tmp_path: Path, point: str) -> None:
    bucket = make_bucket("s3", f"kill-{point}")
    project(tmp_path, bucket)
    part(tmp_path, "a.parquet", 0, 500)
    assert hygge.run(tmp_path).ok  # in-process where no kill is wanted: the same runs, without a start-up
    address = parse(bucket.url("lake", "items"))
    options = delta_options(settings_for(address, bucket.connection(), {}))
    assert DeltaTable(address.url, storage_options=options).version() == 0

    part(tmp_path, "b.parquet", 500, 8_000)
    killed = run_hygge("go", cwd=tmp_path, env={"HYGGE_KILL_AT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    after_kill = DeltaTable(address.url, storage_options=options)
    assert after_kill.version() == (1 if point == "after-publish" else 0), "the log is the only publish"

    again = hygge.run(tmp_path)
    assert again.ok
    notes = " ".join(w for m in again.moves for w in m.warnings)
    table = DeltaTable(address.url, storage_options=options)
    ids = table.to_pyarrow_table().column("id").to_pylist()
    assert sorted(ids) == list(range(8_500)), "every row exactly once: no gap, no duplicate"
    referenced = {unquote(p) for p in table.get_add_actions(flatten=True).column("path").to_pylist()}
    objects = {e.key[len("lake/items/"):] for e in bucket.storage().entries("lake/items")
               if e.key.endswith(".parquet") and not e.key.startswith("lake/items/_delta_log/")}
    assert objects == referenced, f"the killed run's uploads were deleted by the next run ({notes})"
    assert [p.name for p in (tmp_path / ".hygge" / "lake-work").iterdir()] == [], "the killed run's work folder too"
    if point == "before-publish":
        assert "did not commit" in notes, "the run says what it cleaned up"
    from hygge.core.history import collect
    from hygge.core.workspace import load_workspace

    statuses = [r.status for r in collect(load_workspace(tmp_path), [], None, None)]
    # As for a local table: a run killed before it ended is interrupted (after its commit too); the rerun of an
    # after-publish kill finds nothing new.
    assert statuses == ["ok", "interrupted", "empty" if point == "after-publish" else "ok"], statuses
