"""A flow that reads what another flow's parquet store writes, incrementally by file: when the upstream entity
gains a column, its earlier parts are rewritten in the new shape under new names, and the downstream flow read
them again as new files, doubling every earlier row (exit 0). Rewritten parts name the parts whose rows they hold
(the manifest's `rewrites`), and a Home that loaded one of those skips them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hygge.state.manifest import Manifest
from tests.helpers import read_target, run_here, write_project


def project(root: Path) -> None:
    write_project(root, """\
        name: chained
        flows:
          up:
            home: {type: parquet, path: src}
            store: {type: parquet, path: mid}
            run_type: incremental
            entities: [t]
          down:
            home: {type: parquet, path: mid}
            store: {type: parquet, path: out}
            run_type: incremental
            entities: [t]
        """)


def arrive(root: Path, name: str, ids: list[int], **extra: list[int]) -> None:
    """A new file in the upstream's landing folder; the ones it loaded were archived (the files of one entity
    must share a schema)."""
    (root / "src" / "t").mkdir(parents=True, exist_ok=True)
    for old in (root / "src" / "t").iterdir():
        old.unlink()
    columns = {"id": pa.array(ids, pa.int64()), **{k: pa.array(v, pa.int64()) for k, v in extra.items()}}
    pq.write_table(pa.table(columns), root / "src" / "t" / name)


def both(root: Path) -> None:
    run_here("go", "--flow", "up", cwd=root, check=0)
    run_here("go", "--flow", "down", cwd=root, check=0)


def test_parts_rewritten_in_a_new_shape_are_not_read_again_downstream(tmp_path: Path) -> None:
    project(tmp_path)
    arrive(tmp_path, "1.parquet", [1, 2, 3])
    both(tmp_path)
    first = Manifest.read(tmp_path / "mid" / "t").parts
    arrive(tmp_path, "2.parquet", [4, 5], w=[40, 50])  # a new column: the upstream rewrites its earlier part
    both(tmp_path)
    second = Manifest.read(tmp_path / "mid" / "t").parts
    rewritten = [p for p in second if p.rewrites]
    assert [p.rewrites for p in rewritten] == [[first[0].file]] and rewritten[0].file != first[0].file
    out = read_target(tmp_path / "out" / "t").sort_by("id")
    assert out["id"].to_pylist() == [1, 2, 3, 4, 5], "every row once"
    assert out["w"].to_pylist() == [None, None, None, 40, 50]

    arrive(tmp_path, "3.parquet", [6], w=[60], z=[600])  # rewritten again: the part names both it came from
    both(tmp_path)
    third = Manifest.read(tmp_path / "mid" / "t").parts
    assert [first[0].file, rewritten[0].file] in [p.rewrites for p in third]
    out = read_target(tmp_path / "out" / "t").sort_by("id")
    assert out["id"].to_pylist() == [1, 2, 3, 4, 5, 6]
    assert out["z"].to_pylist() == [None] * 5 + [600]

    run_here("go", "--flow", "down", cwd=tmp_path, check=0)  # nothing new
    assert read_target(tmp_path / "out" / "t").num_rows == 6


def test_a_downstream_flow_that_first_runs_after_the_rewrite_reads_every_row_once(tmp_path: Path) -> None:
    project(tmp_path)
    arrive(tmp_path, "1.parquet", [1, 2])
    run_here("go", "--flow", "up", cwd=tmp_path, check=0)
    arrive(tmp_path, "2.parquet", [3], w=[30])
    run_here("go", "--flow", "up", cwd=tmp_path, check=0)  # the first part is rewritten before down ever ran
    run_here("go", "--flow", "down", cwd=tmp_path, check=0)
    assert read_target(tmp_path / "out" / "t").sort_by("id")["id"].to_pylist() == [1, 2, 3]
    manifest = json.loads((tmp_path / "mid" / "t" / ".hygge-manifest.json").read_text())
    plain = [p for p in manifest["parts"] if "rewrites" not in p]
    assert len(plain) == 1, "a part that rewrites nothing is written as before, without the key"
