"""Shared by the file Homes: where an entity's files are, and reading them one after another."""

from __future__ import annotations

import copy
import glob
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import pyarrow as pa
from pydantic import Field

from hygge.core.pipe import fan_in
from hygge.core.plan import MovePlan
from hygge.errors import ReadError, did_you_mean
from hygge.formats.base import FormatReader
from hygge.homes.base import Check, Home, HomeConfig, ReadState, Source
from hygge.homes.bucket_files import BucketListing
from hygge.homes.path_columns import PathColumns
from hygge.state.manifest import MANIFEST, Manifest
from hygge.storage.address import is_url
from hygge.storage.blob import Blob, FilePath

_GLOB_CHARS = set("*?[")


class FileHomeConfig(HomeConfig):
    path: str = Field(description="a file, a folder or a glob, relative to the project; or an s3://, gs://, az:// "
                                  "or abfss:// URL")
    connection: str | dict[str, Any] | None = Field(
        None, description="for a bucket: a name from `connections:` (type s3, gcs or azure), or a mapping")
    partitions: Annotated[int, Field(ge=1, le=256)] | Literal["auto"] = Field(
        "auto", description="contiguous runs of files and row groups moved in parallel; auto: one per core for "
                            "entities of at least 256 MB written to a file store")
    file_column: str | None = Field(None, min_length=1,
                                    description="a column holding each row's file, as a path below the home's path")
    hive_columns: bool = Field(False, description="columns from key=value folders (year=2024/month=01/), as text")


# Below this an entity is moved by one writer: more writers would cost more (threads, part files) than they gain.
AUTO_PARTITION_BYTES = 256 * 2**20
# What the parts of one entity may hold together when `partitions: auto` picks their number: a reader's own
# buffers plus about three batches (queue and writer) each. A 200-column parquet file needs ~400 MB per part,
# so it gets one writer (0.9 GB peak) instead of two (1.3 GB). A number the user sets is taken as it is.
AUTO_PARTITION_MEMORY = 512 * 2**20


def partition_limit(setting: int | str) -> int:
    """The most partitions a `partitions` setting can make on this machine."""
    return max(1, os.cpu_count() or 1) if setting == "auto" else int(setting)


def _has_glob(text: str) -> bool:
    return any(ch in _GLOB_CHARS for ch in text)


def _literal_head(parts: list[str]) -> list[str]:
    """The folders of a pattern before the first one with glob characters."""
    head: list[str] = []
    for part in parts[:-1]:
        if _has_glob(part):
            break
        head.append(part)
    return head


def _globbed(pattern: str) -> list[FilePath]:
    return sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())


def _visible(path: Path) -> bool:
    # Spark, Hadoop and hygge itself keep bookkeeping in _ and . files.
    return not path.name.startswith((".", "_"))


def file_key(path: FilePath) -> dict[str, Any]:
    """What tells one version of a file from another: size and time, and the inode here or the ETag on a bucket."""
    if isinstance(path, Blob):
        found = path.stat()
        return {"size": found.st_size, "mtime_ns": found.st_mtime_ns, "etag": found.etag}
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}


class FileHome(BucketListing, Home):
    """A Home whose entities are files or folders of one format under ``path`` (a folder or a bucket prefix)."""

    Reader: ClassVar[type[FormatReader]]
    source_type: ClassVar[type[FileSource]]
    config: FileHomeConfig
    tracks_files = True

    def __init__(self, config: HomeConfig, *, root: Path, connections: dict[str, dict[str, Any]] | None = None):
        super().__init__(config, root=root, connections=connections)
        self.remote = is_url(self.config.path)
        if self.remote:
            from hygge.storage import open_storage

            self.storage, self.prefix = open_storage(self.config.path, self.config.connection, self.connections)

    def extensions(self) -> tuple[str, ...]:
        return self.Reader.extensions

    def matches_name(self, name: str) -> bool:
        return not name.startswith((".", "_")) and name.lower().endswith(self.Reader.extensions)

    def stem_of(self, name: str) -> str:
        for ext in sorted(self.Reader.extensions, key=len, reverse=True):
            if name.lower().endswith(ext):
                return name[: -len(ext)]
        return Path(name).stem

    @property
    def base(self) -> Path:
        return self.root / os.path.expanduser(self.config.path)

    def show(self, path: FilePath) -> str:
        if isinstance(path, Blob):
            return str(path)
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def relative(self, path: FilePath) -> str:
        """The file's path below the home's `path` (below its folder when `path` names a file, below the part
        without patterns when it is a glob), with / between folders, as `file_column` and hive folders read it."""
        if isinstance(path, Blob):
            prefix = self.prefix
            if _has_glob(prefix):
                prefix = "/".join(_literal_head(prefix.split("/")))
            elif path.key == prefix:
                prefix = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
            key = path.key
            return key[len(prefix):].lstrip("/") if prefix and key.startswith(prefix) else key
        base = self.base
        if self.globbed():
            # From what the user wrote: the project folder around it is literal, whatever characters it has.
            anchor = self.root / Path(*_literal_head(list(Path(os.path.expanduser(self.config.path)).parts)))
        else:
            anchor = base.parent if base.is_file() else base
        return Path(os.path.relpath(path, anchor)).as_posix()

    def _matches(self, path: Path) -> bool:
        name = path.name.lower()
        return path.is_file() and _visible(path) and name.endswith(self.Reader.extensions)

    def _stem(self, path: Path) -> str:
        name = path.name
        for ext in sorted(self.Reader.extensions, key=len, reverse=True):
            if name.lower().endswith(ext):
                return name[: -len(ext)]
        return path.stem

    def _files_in(self, folder: Path) -> list[FilePath]:
        published = Manifest.read(folder) if (folder / MANIFEST).is_file() else None
        if published is not None:  # an entity hygge wrote: exactly its published parts
            return [folder / part.file for part in published.parts]
        found: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
            found.extend(Path(dirpath) / name for name in filenames)
        return sorted(p for p in found if self._matches(p))

    def discover(self) -> list[tuple[str, str]]:
        return self._unique(self._candidates())

    def _candidates(self) -> list[tuple[str, str]]:
        if self.remote:
            found = self.bucket_candidates()
            if found is None:
                raise ReadError("entities: \"*\" needs the home path to be a folder", path=self.config.path,
                                expected="a prefix holding one object or sub-folder per entity",
                                found="no objects below it",
                                hint="fix `path` on the home, or list the entities by name")
            return found
        base = self.base
        if not base.is_dir():
            raise ReadError(
                "entities: \"*\" needs the home path to be a folder",
                path=self.show(base),
                expected="a folder holding one file or sub-folder per entity",
                found="a file" if base.exists() else "nothing at that path",
                hint="fix `path` on the home, or list the entities by name",
            )
        found = []
        for child in sorted(base.iterdir()):
            if not _visible(child):
                continue
            if child.is_dir() and self._files_in(child):
                found.append((child.name, child.name))
            elif self._matches(child):
                found.append((self._stem(child), child.name))
        return found

    def _unique(self, candidates: list[tuple[str, str]]) -> list[tuple[str, str]]:
        entities: dict[str, str] = {}
        for name, child in candidates:
            if name in entities:
                raise ReadError(
                    f"two sources would both become entity '{name}'",
                    path=self.config.path,
                    found=f"{entities[name]} and {child}",
                    hint="rename one of them, or list the entities with explicit `source:`",
                )
            entities[name] = child
        return sorted(entities.items())

    def globbed(self) -> bool:
        """Whether `path` is a glob: it has glob characters the user wrote, and names nothing as it is."""
        return _has_glob(self.config.path) and not self.base.exists()

    def _pattern(self) -> str:
        """`path` as a glob pattern: only what the user wrote is a pattern; the project folder around it (which may
        be called `p[1]`) and a home folder are literal, escaped."""
        written = self.config.path
        if written.startswith("~"):
            head, _, rest = written.partition("/")
            return os.path.join(glob.escape(os.path.expanduser(head)), rest)
        if os.path.isabs(written):
            return written
        return os.path.join(glob.escape(str(self.root)), written)

    def resolve(self, source: str) -> list[FilePath]:
        """The files of one entity, sorted; a ReadError that says what exists when there are none."""
        if self.remote:
            blobs, where, folder = self.bucket_resolve(source)
            return self._or_missing(list(blobs), self.storage.show(where), source, folder=folder)
        base = self.base
        if self.globbed():
            return self._or_missing(_globbed(self._pattern()), base, source)
        if base.is_file():
            return [base]
        if not base.is_dir():
            return self._or_missing([], base, source)
        target = base / source if source else base
        found = self._literal(target)
        if found is None and _has_glob(source):  # a file named `a[1].csv` is itself; otherwise the glob
            return self._or_missing(_globbed(os.path.join(glob.escape(str(base)), source)), target, source)
        return self._or_missing(found or [], target, source, folder=target.is_dir())

    def _literal(self, target: Path) -> list[FilePath] | None:
        """The files of ``target`` taken as it is written: a folder, a file, or the name plus an extension."""
        if target.is_dir():
            return self._files_in(target)
        if target.is_file():
            return [target]
        for ext in self.Reader.extensions:
            candidate = target.with_name(target.name + ext)
            if candidate.is_file():
                return [candidate]
        return None

    def _or_missing(self, files: list[FilePath], where: Path | str, source: str,
                    folder: bool = False) -> list[FilePath]:
        if files:
            return files
        shown = where if isinstance(where, str) else self.show(where)
        if folder:
            raise ReadError(
                f"the source folder holds no {self.type_name} files",
                path=shown,
                expected=f"files ending in {', '.join(self.Reader.extensions)}",
                found="no such files",
                hint="check the home `type` and the file names in that folder",
            )
        hint = "check `path` on the home and `source` on the entity"
        listed = self.bucket_candidates() if self.remote else (self._candidates() if self.base.is_dir() else None)
        if listed is not None:
            names = [name for name, _ in listed]
            suggestion = did_you_mean(source, names)
            if suggestion:
                hint = suggestion
            elif names:
                hint = f"entities found there: {', '.join(names[:10])}"
        raise ReadError(
            "the source does not exist",
            path=shown,
            expected=f"a {self.type_name} file, a folder of them, or a glob",
            found="nothing at that path",
            hint=hint,
        )

    def reader(self, plan: MovePlan) -> FormatReader:
        return self.Reader(self.config, plan.batch_bytes)

    def open(self, plan: MovePlan, state: ReadState | None = None) -> Source:
        files = self.resolve(plan.source)
        return self.source_type(self, files, self.reader(plan), state)

    def describe(self) -> str:
        return f"{self.type_name} files in {self.config.path}"

    def check(self) -> list[Check]:
        if self.remote:
            return self._bucket_check()
        base = self.base
        if self.globbed():
            matched = glob.glob(self._pattern(), recursive=True)
            return [Check(f"home path {self.config.path}", bool(matched), f"{len(matched)} match(es)",
                          None if matched else "no file matches this glob yet")]
        if not base.exists():
            return [Check(f"home path {self.config.path}", False, "does not exist",
                          "create it or fix `path` on the home (relative paths start at the project folder)")]
        if not os.access(base, os.R_OK):
            return [Check(f"home path {self.config.path}", False, "not readable", "fix its permissions")]
        kind = "folder" if base.is_dir() else "file"
        return [Check(f"home path {self.config.path}", True, f"{kind} found")]


    def _bucket_check(self) -> list[Check]:
        name = f"home path {self.config.path}"
        try:
            blobs, _, folder = self.bucket_resolve("")
        except Exception as exc:  # noqa: BLE001 - every failure is one line of the report
            return [Check(name, False, f"cannot list: {str(exc).splitlines()[0][:200]}",
                          getattr(exc, "hint", None) or "check the URL, the credentials and the endpoint")]
        if not blobs and not folder:
            return [Check(name, False, "reachable, but nothing is there",
                          "check the prefix; with entities \"*\" it must hold one object or folder per entity")]
        return [Check(name, True, f"reachable on {self.storage.url}; {'a folder' if folder else 'found'}")]


def _merge_units(group: list[tuple[FilePath, list[int] | None]]) -> list[tuple[FilePath, list[int] | None]]:
    """Consecutive pieces of one file become one read of those pieces."""
    out: list[tuple[FilePath, list[int] | None]] = []
    for path, pieces in group:
        if out and out[-1][0] == path and pieces is not None and out[-1][1] is not None:
            out[-1] = (path, [*out[-1][1], *pieces])
        else:
            out.append((path, pieces))
    return out


class FileSource(Source):
    def __init__(self, home: FileHome, files: list[FilePath], reader: FormatReader, state: ReadState | None):
        self.home = home
        self.reader = reader
        self.all_files = files
        self.files = files
        self.state = state
        if state is not None and state.loaded_files:
            # Whole files already loaded by a committed run are skipped before any row is read.
            self.files = [f for f in files if state.loaded_files.get(home.show(f)) != file_key(f)]
        self._closed = False
        self.is_part = False
        self.units: list[tuple[FilePath, list[int] | None]] = [(f, None) for f in self.files]
        self.read: dict[str, dict[str, Any]] = {}
        self.file_schema = self._unify(files)  # what the reader reads; path columns are added after it
        relative = {home.show(f): home.relative(f) for f in files}
        self.path_columns = PathColumns.of(relative, home.config.file_column, home.config.hive_columns)
        self._schema = (self.path_columns.extend(self.file_schema, home.config.path) if self.path_columns
                        else self.file_schema)
        self.rows = state.filter_for(self._schema) if state is not None else None
        self.file_keys = {f: file_key(f) for f in self.files}  # as the files were when opened
        self.size = sum(key["size"] for key in self.file_keys.values())
        self.description = f"{len(self.files)} file{'s' if len(self.files) != 1 else ''}, {self.size:,} bytes"
        estimates = [reader.estimate_rows(f) for f in self.files]
        self.file_rows = dict(zip(self.files, estimates, strict=True))
        self.estimated_rows = None if None in estimates else sum(e or 0 for e in estimates)

    def changed_since_open(self, path: FilePath, now: dict[str, Any] | None = None) -> bool:
        """Whether the file's size or modification time differ from when the move opened it. Not its inode: a Dask
        worker sees the file through its own mount, where the same file may carry another inode number."""
        opened = self.file_keys.get(path)
        if opened is None:
            return False
        try:
            now = now or file_key(path)
        except FileNotFoundError:
            return True
        return (now["size"], now["mtime_ns"]) != (opened["size"], opened["mtime_ns"])

    def _unify(self, files: list[FilePath]) -> pa.Schema:
        schemas = [(f, self.reader.schema_of(f)) for f in files]
        for path, schema in schemas:
            twice = sorted({name for name in schema.names if schema.names.count(name) > 1})
            if twice:  # each would stand for the other in `columns`, polish and every store
                raise ReadError(
                    f"this file has more than one column named {', '.join(twice)}",
                    path=self.home.show(path),
                    expected="a different name for every column",
                    found=f"columns {', '.join(schema.names)}" if len(schema) <= 20 else f"{len(schema)} columns",
                    hint="rename the columns in the file, or move it out of the home folder",
                )
        return self.reader.unify(schemas)

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    def batches(self) -> Iterator[pa.RecordBatch]:
        # Reads fanned in here interleave their batches, so only partitions asked for by number come this way;
        # "auto" splits only where each partition has a writer of its own and the order is kept (parts()).
        parts = self.parts(automatic=False) if not self.is_part else [self]
        if len(parts) < 2:
            yield from self._serial()
            return
        for part in parts:
            part.is_part = True  # type: ignore[attr-defined]
        # File groups read on threads of their own, into one stream.
        yield from fan_in([p.batches for p in parts], len(parts), 4 * self.reader.batch_bytes,
                          name="hygge-files")
        for part in parts:
            self.read.update(part.read)  # type: ignore[attr-defined]
            self.warnings.extend(part.warnings)

    def _serial(self) -> Iterator[pa.RecordBatch]:
        for path, pieces in self.units:
            if self._closed:
                return
            # The schema, the drift decisions and the plan were made from the file as it was when the move opened
            # it; a file replaced since then is not read under that plan.
            before = file_key(path)
            moved = self.changed_since_open(path, before)
            shown = self.home.show(path)
            for batch in () if moved else self.reader.batches(path, self.file_schema, pieces):
                if self.path_columns is not None:
                    batch = self.path_columns.add(batch, shown, self._schema)
                if self.rows is not None:
                    batch = self.rows.apply(batch)
                if batch.num_rows:
                    yield batch
            if moved or file_key(path) != before:
                raise ReadError(
                    "a file changed while the move was reading it; nothing was committed",
                    path=self.home.show(path),
                    expected="files that stay the same from the moment hygge opens them until it has read them",
                    found="its size, modification time or inode changed",
                    hint="hygge retries the move; writers should write to a temporary name and rename when done",
                    transient=True,
                )
            self.read[shown] = before
            self.warnings.extend(self.reader.notes)
            self.reader.notes.clear()

    def _parts_that_fit(self) -> int:
        per_part = max(self.reader.working_bytes(path) for path in self.files) + 3 * self.reader.batch_bytes
        return max(1, AUTO_PARTITION_MEMORY // per_part)

    def parts(self, automatic: bool = True) -> list[Source]:
        """Contiguous runs of files (and of a parquet file's row groups) of about equal size, in order."""
        setting = self.home.config.partitions
        if self.is_part or setting == 1:
            return [self]
        if setting == "auto" and (not automatic or self.size < AUTO_PARTITION_BYTES):
            return [self]
        units = [(path, pieces, size) for path in self.files for pieces, size in self.reader.pieces(path)]
        count = min(partition_limit(setting), len(units))
        if setting == "auto":
            count = min(count, self._parts_that_fit())
        if count < 2:
            return [self]
        total = sum(size for _, _, size in units) or 1
        groups: list[list[tuple[FilePath, list[int] | None]]] = [[]]
        done = 0
        for path, pieces, size in units:
            # Start the next group once this one holds its share; order is kept, so parts read in order.
            if groups[-1] and len(groups) < count and done >= total * len(groups) / count:
                groups.append([])
            groups[-1].append((path, pieces))
            done += size
        out: list[Source] = []
        for group in groups:
            part = copy.copy(self)
            part.units = _merge_units(group)
            part.files = sorted({path for path, _ in group})
            part.read = {}
            part.warnings = []
            part.reader = copy.deepcopy(self.reader)  # readers keep notes; one each
            part.is_part = True
            out.append(part)
        return out

    def nothing_new(self) -> bool:
        return bool(self.state is not None and self.state.loaded_files and self.all_files and not self.files)

    def changed_since_loaded(self, loaded: dict[str, dict[str, Any]]) -> list[str]:
        # The same test as the skip in __init__: whatever an incremental run would read again is named here.
        return [shown for path, key in self.file_keys.items()
                if (shown := self.home.show(path)) in loaded and loaded[shown] != key]

    def taken_whole(self, files: list[FilePath]) -> None:
        """Files a store took without reading them through this source (copied, re-encoded by polars, loaded by
        DuckDB) count as read, as they were when the move opened them: an incremental run skips them next time."""
        for path in files:
            self.read[self.home.show(path)] = self.file_keys[path]

    def new_state(self) -> dict[str, Any]:
        loaded = dict(self.state.loaded_files) if self.state and self.state.loaded_files else {}
        loaded.update(self.read)  # the files as they were when read, not as they are now
        return {"loaded_files": loaded}

    def close(self) -> None:
        self._closed = True


FileHome.source_type = FileSource
