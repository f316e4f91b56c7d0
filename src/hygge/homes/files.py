"""Shared by the file Homes: where an entity's files are (folders, globs, bucket prefixes); file_source reads them."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from hygge.core.plan import MovePlan
from hygge.errors import ReadError, did_you_mean
from hygge.formats.base import FormatReader
from hygge.homes.base import Check, Home, HomeConfig, ReadState, Source
from hygge.homes.bucket_files import BucketListing
from hygge.homes.file_source import FileSource
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


class FileHome(BucketListing, Home):
    """A Home whose entities are files or folders of one format under ``path`` (a folder or a bucket prefix)."""

    Reader: ClassVar[type[FormatReader]]
    source_type: ClassVar[type[FileSource]]
    config: FileHomeConfig
    tracks_files = True

    def __init__(self, config: HomeConfig, *, root: Path, connections: dict[str, dict[str, Any]] | None = None):
        super().__init__(config, root=root, connections=connections)
        self.remote = is_url(self.config.path)
        # Parts of entities hygge wrote that hold the rows of earlier parts in a new shape (Part.rewrites).
        self.rewrites: dict[FilePath, list[FilePath]] = {}
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
            for part in published.parts:
                if part.rewrites:
                    self.rewrites[folder / part.file] = [folder / name for name in part.rewrites]
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
        source = self.source_type(self, files, self.reader(plan), state)
        source.in_order = bool(plan.keys)
        return source

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


FileHome.source_type = FileSource
