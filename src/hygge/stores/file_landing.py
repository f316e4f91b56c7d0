"""The commit protocol shared by the file Stores.

Layout of a store folder::

    <path>/<entity>/part-00000.parquet       published data
    <path>/<entity>/.hygge-manifest.json     its parts and journal state
    <path>/.hygge/staging/<entity>/<run>/    one run's staged entity folder
    <path>/.hygge/locks/<entity>.lock        one writer per entity
    <path>/.hygge/trash/<entity>/<run>/      replaced versions, kept `keep_replaced` seconds
    <path>/.hygge/history.jsonl              every run: running when it takes the entity, then its end

A run builds a complete new entity folder in staging (new parts, plus hard
links to the parts it keeps when appending, plus the manifest) and publishes
it by exchanging it with the live folder in one atomic step. Readers of the
entity folder see the old version or the new one, never a mix; a process
killed at any instant leaves the live folder untouched or fully replaced, and
the next run removes the leftovers. Part numbers never repeat within an
entity, so a part's name always stands for the same bytes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from hygge.core import faults, lazy
from hygge.core.config import SchemaPolicy
from hygge.core.drift import Drift, evolve_table
from hygge.core.plan import MovePlan
from hygge.errors import StateError, WriteError
from hygge.state.fsops import (
    ExchangeUnsupported,
    exchange,
    fsync_dir,
    fsync_path,
    link_or_copy,
    remove_tree,
)
from hygge.state.journal import EntityState, RunRecord, utc_now
from hygge.state.manifest import MANIFEST, Manifest, Part
from hygge.stores.base import CommitResult, Landing
from hygge.stores.files import explain_os_error
from hygge.stores.part_series import PartSeries

if TYPE_CHECKING:
    from hygge.stores.files import FileStore


def heal(staging_root: Path, target: Path) -> str:
    """Finish or undo what a killed run left behind, and say what that was. Call with the entity lock held."""
    if not staging_root.is_dir():
        return "found nothing of it to undo"
    done = None
    if not target.exists():
        # Killed between the two renames of the fallback publish: the old
        # version sits in "<run>.old" and the complete new one in "<run>".
        # The commit had begun, so roll forward; restore the old if the new
        # one is somehow incomplete.
        for old in sorted(p for p in staging_root.iterdir() if p.name.endswith(".old")):
            staged = old.with_name(old.name[: -len(".old")])
            forward = (staged / MANIFEST).is_file()
            os.rename(staged if forward else old, target)
            done = "finished publishing its new version" if forward else "put back the version it was replacing"
            break
    leftovers = list(staging_root.iterdir())
    for leftover in leftovers:
        remove_tree(leftover)
    return done or ("removed what it had staged" if leftovers else "found nothing of it to undo")


def merge_tables(old: list[Path], new: list[Path], schema: pa.Schema, plan: MovePlan) -> pa.Table:
    """Old and new rows, one row per key: the latest watermark wins, then the newest arrival."""
    pl = lazy.polars()

    keys = list(plan.keys)
    frames = [pl.scan_parquet(old).with_columns(pl.lit(0, pl.Int8).alias("_hygge_src"))] if old else []
    fresh = pl.scan_parquet(new).with_columns(pl.lit(1, pl.Int8).alias("_hygge_src"))
    nulls = fresh.select([pl.col(k).is_null().sum().alias(k) for k in keys]).collect().row(0)
    bad = {k: n for k, n in zip(keys, nulls, strict=True) if n}
    if bad:
        raise WriteError(
            "merge keys must identify every row, but some are null; nothing was committed",
            entity=plan.entity, expected=f"non-null values in {', '.join(keys)}",
            found=", ".join(f"{n:,} row(s) with {k} null" for k, n in bad.items()),
            hint="fix those rows at the source, or choose `keys` that are never null",
        )
    combined = pl.concat([*frames, fresh], how="vertical").with_row_index("_hygge_seq")
    order = ([plan.watermark] if plan.watermark else []) + ["_hygge_src", "_hygge_seq"]
    result = combined.sort(order, nulls_last=False).unique(subset=keys, keep="last", maintain_order=True)
    if plan.delete_column:
        result = result.filter(~pl.col(plan.delete_column).fill_null(False))
    table = result.drop(["_hygge_src", "_hygge_seq"]).collect().to_arrow()
    return table.select(schema.names).cast(schema)


def empty_trash(trash: Path, keep_seconds: float) -> None:
    """Delete replaced versions older than ``keep_seconds``."""
    if not trash.is_dir():
        return
    cutoff = time.time() - keep_seconds
    for version in trash.iterdir():
        if version.stat().st_mtime < cutoff:
            remove_tree(version)


def publish(staging: Path, target: Path) -> None:
    """Make ``staging`` the live ``target`` in one atomic step; leave the old version in ``staging``."""
    if not target.exists():
        os.rename(staging, target)
        return
    try:
        exchange(staging, target)
    except ExchangeUnsupported:
        # Two renames: a reader may briefly find no folder, never a mixed one,
        # and heal() rolls forward if we die in between.
        old = staging.with_name(staging.name + ".old")
        os.rename(target, old)
        faults.point("publish-gap")
        os.rename(staging, target)
        os.rename(old, staging)


class FileLanding(Landing):
    def __init__(self, store: FileStore, plan: MovePlan, record: RunRecord):
        self.store = store
        self.plan = plan
        self.record = record
        self.target = store.entity_dir(plan)
        self.staging_root = store.internal / "staging" / plan.target
        try:
            self.lock = store.lock(plan, record)
        except OSError as exc:
            raise explain_os_error(exc, store.internal, "create the store's lock file") from exc
        try:
            # Recorded as running once it holds the entity: a kill from here on leaves a trace in the history.
            self.found = store.opened(self.lock, record, heal(self.staging_root, self.target))
            self.previous = self._previous()
            self.staging = self.staging_root / record.run_id
            self.staging.mkdir(parents=True)
        except OSError as exc:
            self.lock.release()
            raise explain_os_error(exc, self.staging_root, "prepare staging") from exc
        except BaseException:
            self.lock.release()
            raise
        # Part numbers only grow, even across full_drops: a published part name
        # always means the same bytes, so a reader that listed the old version
        # and opens a file after the switch gets "not found", never other data.
        self.part_no = self.previous.next_part if self.previous else 0
        self.parts: list[Part] = []
        self.footer_counted: set[str] = set()
        self.reshape = False
        self.published = False
        self.schema: pa.Schema | None = None
        self.series: PartSeries | None = None

    def _previous(self) -> Manifest | None:
        if self.target.is_file():
            raise WriteError("the entity's target is a file, not a folder", entity=self.plan.entity,
                             path=str(self.target), hint="move the file away or set `target:` on the entity")
        manifest = Manifest.read(self.target) if self.target.is_dir() else None
        if manifest is None and self.target.is_dir() and any(self.target.iterdir()):
            raise WriteError(
                "the target folder exists and was not written by hygge; it is left untouched",
                entity=self.plan.entity,
                path=str(self.target),
                expected=f"no folder, or a folder holding {MANIFEST}",
                found=f"{sum(1 for _ in self.target.iterdir())} entries without a hygge manifest",
                hint="move that folder away, or set `target:` on the entity to another name",
            )
        return manifest

    def _new_part(self) -> Path:
        path = self.staging / self.store.part_name(self.part_no)
        self.part_no += 1
        return path

    @property
    def attempts(self) -> Path:
        """Where partitions staged by other processes write, beside (never inside) the folder that is published:
        an attempt that finishes late cannot end up inside the target."""
        return self.staging_root / f"{self.record.run_id}.parts"

    def part_targets(self, count: int) -> list[Any]:
        from hygge.stores.file_parts import FilePartTarget

        return [FilePartTarget(self.plan.store, self.plan.root, str(self.attempts / f"p{i:04d}")) for i in range(count)]

    def adopt(self, results: list[Any]) -> None:
        for result in results:
            folder_name, files = result.outputs
            folder = self.attempts / folder_name  # the attempt whose result arrived; others are left alone
            for name, rows, size in files:
                part = self.store.part_name(self.part_no)
                self.part_no += 1
                os.rename(folder / name, self.staging / part)
                self.parts.append(Part(part, rows, size, self.record.run_id))
                self.bytes_written += size
            self.rows_written += result.rows_written
            remove_tree(folder)

    def rows_before(self) -> int:
        return self.previous.rows if self.previous else 0

    def expected_rows_after(self) -> int | None:
        if self.plan.run_type == "merge":
            return None  # checked by _merge_parts against the rows it wrote
        keeps = self.plan.run_type in ("append", "incremental")
        return self.rows_written + (self.rows_before() if keeps else 0)

    def target_schema(self) -> pa.Schema | None:
        return self.store.manifest_schema(self.target, self.previous)

    def begin(self, schema: pa.Schema, drift: Drift | None = None) -> None:
        keeps = self.plan.run_type != "full_drop" and self.previous is not None
        self.reshape = keeps and drift is not None and bool(drift.new or drift.widened)
        if self.reshape and self.store.type_name != "parquet":
            raise WriteError(
                f"a {self.store.type_name} store cannot change the columns of an entity it appends to",
                entity=self.plan.entity, expected="the same columns as the files already there",
                found="; ".join(drift.lines(SchemaPolicy())) if drift else "",
                hint="run once with --full-drop to rewrite the entity, or write it to parquet",
            )
        if self.plan.run_type == "merge" and self.store.type_name != "parquet":
            raise WriteError(
                f"merge into a {self.store.type_name} store is not supported",
                entity=self.plan.entity, expected="a parquet, duckdb, sqlite, postgres or mysql store",
                found=self.store.type_name, hint="write this entity to parquet, or use run_type append",
            )
        problems = self.store.Writer.check_schema(schema)
        if problems:
            raise WriteError(
                f"{self.store.type_name} files cannot hold some columns faithfully",
                entity=self.plan.entity,
                expected=f"types a {self.store.type_name} file can represent",
                found=", ".join(problems),
                hint="write this entity to parquet, or drop those columns with `polish: drop: [...]`",
            )
        self.schema = schema
        self.series = PartSeries(self.store, self.staging, schema, self._next_part, self._add_part)

    def _next_part(self) -> int:
        self.part_no += 1
        return self.part_no - 1

    def _add_part(self, name: str, rows: int, size: int) -> None:
        self.parts.append(Part(name, rows, size, self.record.run_id))
        self.bytes_written += size

    def write(self, batch: pa.RecordBatch) -> None:
        assert self.series is not None
        try:
            self.series.write(batch)
            self.rows_written += batch.num_rows
            faults.point("write")
        except OSError as exc:
            raise explain_os_error(exc, self.staging, "write staged data") from exc

    def commit(self, record: RunRecord, state: EntityState) -> CommitResult:
        try:
            return self._commit(record, state)
        except OSError as exc:  # parts are explained where they are written (PartSeries); this is the rest
            raise explain_os_error(exc, self.staging, "publish the entity") from exc

    def finish(self) -> None:
        if self.series is not None:
            self.series.close()  # the last part's bytes are known once it is closed

    def _commit(self, record: RunRecord, state: EntityState) -> CommitResult:
        assert self.series is not None
        self.series.close()
        merging = self.plan.run_type == "merge" and bool(self.parts)
        if self.plan.key_tables and self.plan.run_type == "full_drop" and self.store.type_name == "parquet":
            self._refuse_repeated_keys()  # an incremental entity's first, full load: as the database stores do
        if merging:
            self._verify()
            self._merge_parts()
        # A merge of nothing keeps every part, like an append of nothing.
        keeps = not merging and self.plan.run_type != "full_drop" and self.previous is not None
        if not self.parts and not keeps:
            # Zero rows still publish a part, so readers learn the schema.
            self.series.open()
            self.series.close()
        self._verify()
        kept = self.previous.parts if keeps and self.previous else []
        if kept and self.reshape:
            kept = self._reshape_parts(kept)
        for part in kept:
            if not (self.staging / part.file).exists():
                link_or_copy(self.target / part.file, self.staging / part.file)
        durable = self.store.config.durable
        if durable:
            for part in self.parts:
                fsync_path(self.staging / part.file)
        manifest = Manifest(
            entity=self.plan.target,
            flow=self.plan.flow,
            run_id=record.run_id,
            committed_at=utc_now().isoformat(),
            run_type=self.plan.run_type,
            parts=[*kept, *self.parts],
            next_part=self.part_no,
            state=state,
        )
        try:
            manifest.write(self.staging, durable=durable)
        except OSError as exc:
            raise explain_os_error(exc, self.staging / MANIFEST, "write the entity's manifest") from exc
        if durable:
            fsync_dir(self.staging)
        faults.point("before-publish")
        self.target.parent.mkdir(parents=True, exist_ok=True)
        publish(self.staging, self.target)
        self.published = True
        try:
            self._after_publish(durable)
        except OSError:
            pass  # committed; what is left over is cleaned by the next run
        return CommitResult(
            rows_in_target=manifest.rows,
            bytes_written=sum(p.bytes for p in self.parts),
            files=[p.file for p in self.parts],
            location=self.store.location(self.plan),
        )

    def _after_publish(self, durable: bool) -> None:
        if durable:
            fsync_dir(self.target.parent)
        faults.point("after-publish")
        if self.staging.exists():
            # The replaced version (now in staging) goes to the trash, not away:
            # a reader that listed it a moment ago can still open every file.
            trash = self.store.internal / "trash" / self.plan.target
            trash.mkdir(parents=True, exist_ok=True)
            os.rename(self.staging, trash / self.record.run_id)
            os.utime(trash / self.record.run_id)  # the clock of keep_replaced starts now
        self._tidy()

    def _reshape_parts(self, parts: list[Part]) -> list[Part]:
        """Rewrite earlier parts in the new shape (one part in memory at a time); parquet only."""
        assert self.schema is not None
        out: list[Part] = []
        for part in parts:
            table = evolve_table(pq.read_table(self.target / part.file), self.schema)

            def keep(name: str, rows: int, size: int, run_id: str = part.run_id,
                     rewrites: tuple[str, ...] = (*(part.rewrites or ()), part.file)) -> None:
                # The part keeps the run that wrote its rows, and names the parts that held them before.
                out.append(Part(name, rows, size, run_id, list(rewrites)))

            series = PartSeries(self.store, self.staging, self.schema, self._next_part, keep)
            series.open()  # one part for one part, even an empty one
            for batch in table.to_batches():
                series.write(batch, rotate=False)
            series.close()
        return out

    def _merge_parts(self) -> None:
        """Rewrite the entity as old rows upserted with the new ones (the whole entity passes through memory)."""
        assert self.schema is not None
        staged = [self.staging / p.file for p in self.parts]
        old_parts = self.previous.parts if self.previous else []
        if old_parts and self.reshape:
            old_parts = self._reshape_parts(old_parts)
        old = [(self.staging if (self.staging / p.file).exists() else self.target) / p.file for p in old_parts]
        merged = merge_tables(old, staged, self.schema, self.plan)
        for path in staged + [p for p in old if p.parent == self.staging]:
            path.unlink()
        self.parts = []
        assert self.series is not None
        for batch in merged.to_batches():
            self.series.write(batch)
        self.series.close()
        if sum(p.rows for p in self.parts) != merged.num_rows:
            raise StateError("the merged entity lost rows while being written; nothing was published",
                             entity=self.plan.entity, path=str(self.staging))

    def _refuse_repeated_keys(self) -> None:
        """The rows of a keyed full load must be one per key: a CDC folder's versions of a row were all published,
        and the next merge of that key kept one of them. (Merge, not incremental, keeps the latest of each.)"""
        from hygge.stores.key_spool import refuse_repeated_keys

        if self.parts:
            refuse_repeated_keys([self.staging / p.file for p in self.parts], self.plan, str(self.target))

    def _verify(self) -> None:
        """Read back what the format can count cheaply: a part that lost rows must never be published."""
        for part in self.parts:
            if part.file in self.footer_counted:
                continue
            counted = self.store.Writer.count_rows(self.staging / part.file)
            if counted is not None and counted != part.rows:
                raise StateError(
                    "a staged part does not hold the rows written to it; nothing was published",
                    entity=self.plan.entity,
                    path=str(self.staging / part.file),
                    expected=f"{part.rows} rows",
                    found=f"{counted} rows",
                    hint="check the disk for errors and run again",
                )

    def abort(self) -> None:
        if self.series is not None:
            self.series.abandon()
        try:
            self._tidy()
        except OSError:
            pass  # the next run's heal() removes it

    def _tidy(self) -> None:
        remove_tree(self.staging)
        remove_tree(self.attempts)
        empty_trash(self.store.internal / "trash" / self.plan.target, self.store.config.keep_replaced)
        # The entity's own staging folder is ours (we hold its lock); the shared `.hygge/staging`
        # above it is not: another move may be creating its folder in it right now.
        try:
            self.staging_root.rmdir()
        except OSError:
            pass

    def close(self) -> None:
        self.lock.release()
