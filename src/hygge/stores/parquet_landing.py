"""A parquet store's landing: the file commit protocol, plus taking parquet files whole (core/passthrough.py).

Files whose rows the move does not change are copied as bytes, or re-encoded by polars on every core when
another codec or part size is wanted. Either way each part is checked before it is published, as the batch
path would check it: its rows against the source footers read when the move opened the files, the sources
unchanged since then, and (for copies, whose pages nobody decoded) every page decoded.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from hygge.core import faults
from hygge.core.passthrough import copyable, polars_encodable
from hygge.errors import ReadError
from hygge.formats.parquet import check_arriving, check_pages
from hygge.homes.base import WholeParquet
from hygge.state.fsops import start_writeback
from hygge.state.manifest import Part
from hygge.storage.blob import Blob, FilePath
from hygge.stores.file_landing import FileLanding
from hygge.stores.files import explain_os_error

WRITEBACK_BYTES = 64 << 20

if TYPE_CHECKING:
    from hygge.stores.parquet import ParquetStore


class ParquetLanding(FileLanding):
    store: ParquetStore

    def take_whole(self, whole: WholeParquet, on_rows: Callable[[int], None]) -> tuple[bool, list[str]]:
        config = self.store.config
        if copyable(whole, config):
            self.copy_files(whole, on_rows)
            return True, [f"{len(whole.files)} file(s) copied whole: nothing about their rows changed"]
        if polars_encodable(whole, config):
            failed = self.encode_files(whole, on_rows)
            if failed is None:
                return True, [f"{len(whole.files)} file(s) re-encoded by polars: nothing about their rows or types "
                              "changed"]
            return False, [f"polars could not re-encode the file(s) ({failed}); hygge's own reader and writer moved "
                           "them"]
        return False, []

    def copy_files(self, whole: WholeParquet, on_rows: Callable[[int], None]) -> None:
        """Copy the files as they are into staging, each checked before it becomes a part (see copied_files)."""
        for source, path in copied_files(whole, self._new_part, self.plan.batch_bytes,
                                          self.store.config.durable):
            self._take_part(path, pq.read_metadata(path).num_rows, whole.rows_of(source), [source], whole, on_rows)

    def encode_files(self, whole: WholeParquet, on_rows: Callable[[int], None]) -> str | None:
        """Re-encode the files with polars (formats/parquet_polars.py) into parts of about the part size, checked
        like copies: every source as the move opened it, every part's rows as its sources' footers say.

        Returns None when done. When polars fails, the parts it wrote are dropped and the reason is returned: the
        move then sends the rows through hygge's own reader and writer."""
        from hygge.formats.parquet_polars import PolarsFailed, encode_piece, plan_pieces

        kept = len(self.parts)
        try:
            files = [path for path in whole.files if isinstance(path, Path)]  # polars_encodable: all of them
            for piece in plan_pieces(files, whole.footer, int(self.store.config.target_file_size)):
                path = self._new_part()
                rows = encode_piece(piece, path, self.schema, self.store.config, whole.footer(piece.files[0]))
                if self.store.config.durable:  # the disk writes this part while polars encodes the next one
                    start_writeback(path)
                self._take_part(path, rows, piece.rows, piece.files, whole, on_rows)
                faults.point("write")
        except PolarsFailed as exc:
            for part in self.parts[kept:]:
                (self.staging / part.file).unlink(missing_ok=True)
            (self.staging / self.store.part_name(self.part_no - 1)).unlink(missing_ok=True)  # the unfinished one
            self.rows_written -= sum(part.rows for part in self.parts[kept:])
            self.bytes_written -= sum(part.bytes for part in self.parts[kept:])
            del self.parts[kept:]
            return str(exc)
        return None

    def _take_part(self, path: Path, rows: int, expected: int | None, sources: Sequence[FilePath], whole: WholeParquet,
                   on_rows: Callable[[int], None]) -> None:
        refuse_changed(self.plan.entity, rows, expected, sources, whole)
        size = path.stat().st_size
        self.footer_counted.add(path.name)  # ``rows`` came from this file's own footer: _verify need not read it again
        self.parts.append(Part(path.name, rows, size, self.record.run_id))
        self.rows_written += rows
        self.bytes_written += size
        on_rows(rows)


def copied_files(whole: WholeParquet, new_path: Callable[[], Path], batch_bytes: int,
                 durable: bool) -> Iterator[tuple[FilePath, Path]]:
    """Copy the files as they are, each to a path ``new_path`` gives, and yield each source with its copy once
    every page of the copy decodes (see copy_checked). The caller publishes a copy only once ``refuse_changed``
    let it pass."""
    with ThreadPoolExecutor(1, thread_name_prefix="hygge-check") as checker:
        checks: list[tuple[FilePath, Path, Future[None]]] = []
        for source in whole.files:
            path = new_path()
            checks.append((source, path, copy_checked(source, path, whole, batch_bytes, checker, durable)))
        for source, path, checked in checks:
            checked.result()
            yield source, path


def copy_checked(source: FilePath, path: Path, whole: WholeParquet, batch_bytes: int, checker: ThreadPoolExecutor,
                 durable: bool) -> Future[None]:
    """Copy a source to ``path`` and return the check of every page of the copy, running on ``checker`` (one
    thread: a file's pages are decoded while the next file is copied).

    From a bucket the check follows the download row group by row group, with the footer read when the move
    opened the file; once the download is done, the copy's own footer must be that one, else the copy is checked
    again whole by its own footer (the object was replaced: refuse_changed then fails the move as changed rather
    than damaged). ``durable``: the copy is fsynced at commit; the disk starts writing it meanwhile."""
    if not isinstance(source, Blob):
        copy_source(source, path)
        if durable:  # the disk writes the copy while its pages are decoded, not in the commit's fsync
            start_writeback(path)
        return checker.submit(check_pages, path, whole.show(source), batch_bytes)
    footer, shown = whole.footer(source), whole.show(source)
    arrived = Arrived(path if durable else None)
    following = checker.submit(check_arriving, path, footer, arrived.wait_for, shown, batch_bytes)
    try:
        copy_source(source, path, arrived.advance)
    finally:
        arrived.end()

    def settle() -> None:
        try:
            same = pq.read_metadata(path).equals(footer)
        except (pa.ArrowException, OSError):
            same = False
        try:
            complete = following.result()
        except ReadError:
            if same:
                raise
            complete = False
        if not (same and complete):
            check_pages(path, shown, batch_bytes)

    return checker.submit(settle)  # after ``following`` on the one thread: it never waits for a queued task


class Arrived:
    """How many bytes of a file being downloaded are in it, for a check that follows the download."""

    def __init__(self, path: Path | None) -> None:
        self.path, self.held, self.ended, self.written_back = path, 0, False, 0
        self.changed = threading.Condition()

    def advance(self, held: int) -> None:
        with self.changed:
            self.held = held
            self.changed.notify_all()
        # The disk writes what arrived while the rest downloads: the commit's fsync of 404 MB took 0.15 s otherwise.
        if self.path is not None and held - self.written_back >= WRITEBACK_BYTES:
            start_writeback(self.path)
            self.written_back = held

    def end(self) -> None:
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def wait_for(self, offset: int) -> bool:
        """Whether the file holds ``offset`` bytes, once it does or once the download ended."""
        with self.changed:
            self.changed.wait_for(lambda: self.held >= offset or self.ended)
            return self.held >= offset


def copy_source(source: FilePath, path: Path, progress: Callable[[int], None] | None = None) -> None:
    """The source file's bytes at ``path``, downloaded when it lies on a bucket."""
    try:
        if isinstance(source, Blob):
            source.storage.download(source.key, path, progress)
        else:
            shutil.copyfile(source, path)  # copy_file_range on Linux: no bytes through Python
    except OSError as exc:
        raise explain_os_error(exc, path, "copy a source file into staging") from exc


def refuse_changed(entity: str, rows: int, expected: int | None, sources: Sequence[FilePath],
                   whole: WholeParquet) -> None:
    """A copy's footer must count the rows read when the move opened the source, and the source must be unchanged
    since then: a file replaced in between fails the move instead of publishing what nobody planned (its schema
    and codec were checked on the old file)."""
    moved = [source for source in sources if whole.changed(source)]
    if rows != expected or moved:
        counted = "an unknown number of" if expected is None else f"{expected:,}"
        raise ReadError(
            "a file changed between opening and copying it; nothing was committed",
            entity=entity, path=whole.show(moved[0] if moved else sources[0]),
            expected=f"the file(s) as the move opened them, with {counted} rows",
            found=f"a copy holding {rows:,} rows" + (", and the file's size or time changed" if moved else ""),
            hint="hygge retries the move; writers should write to a temporary name and rename when done",
            transient=True,
        )
