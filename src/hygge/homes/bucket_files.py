"""Where a file Home's entities are on a bucket: the same rules as on a local disk, answered by listings.

A prefix holding objects is a folder; a key is a file; globs are matched against the listing below the
longest prefix without pattern characters (``**`` crosses folders, ``*`` does not). Names starting with
``.`` or ``_`` are bookkeeping (Spark's, Hadoop's, hygge's own) and skipped, and an entity folder that
hygge wrote is read as its manifest says: exactly the parts of the published version, not the parts of a
run in flight or of a replaced version still waiting to be removed.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable

from hygge.state.manifest import MANIFEST
from hygge.storage.base import Entry, Storage
from hygge.storage.blob import Blob
from hygge.storage.manifest_object import read_published

_GLOB = re.compile(r"[*?\[]")


def _visible(key: str, below: str) -> bool:
    rest = key[len(below):].lstrip("/") if below else key
    return not any(part.startswith((".", "_")) for part in rest.split("/"))


def files_in(storage: Storage, folder: str, matches: Callable[[str], bool]) -> list[Blob]:
    """The entity files below a folder-like prefix, sorted; a hygge-written entity's published parts."""
    manifest = read_published(storage, f"{folder}/{MANIFEST}" if folder else MANIFEST)
    if manifest is not None:
        return [Blob(storage, f"{folder}/{p.file}" if folder else p.file) for p in manifest.parts]
    return [Blob(storage, e.key, e) for e in storage.entries(folder)
            if _visible(e.key, folder) and matches(e.name)]


def stat(storage: Storage, key: str) -> Entry | None:
    return storage.stat(key) if key else None


def is_folder(storage: Storage, key: str) -> bool:
    return bool(storage.entries(key, recursive=False)) or bool(storage.folders(key))


def globbed(storage: Storage, pattern: str, matches: Callable[[str], bool]) -> list[Blob]:
    """Objects whose keys match a glob the user wrote; ``**`` spans folders."""
    literal = _GLOB.split(pattern, 1)[0].rsplit("/", 1)[0] if "/" in _GLOB.split(pattern, 1)[0] else ""
    regex = re.compile(_translate(pattern))
    return [Blob(storage, e.key, e) for e in storage.entries(literal)
            if regex.fullmatch(e.key) and _visible(e.key, literal) and matches(e.name)]


def _translate(pattern: str) -> str:
    """A glob as a regular expression over keys: ``**/`` any folders, ``*`` and ``?`` within one name."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape("["))
                i += 1
            else:
                out.append(fnmatch.translate(pattern[i:end + 1])[4:-3])
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def children(storage: Storage, folder: str) -> list[tuple[str, bool]]:
    """The visible names directly below a folder-like prefix, and whether each is a folder."""
    names = [(name, True) for name in storage.folders(folder) if not name.startswith((".", "_"))]
    names += [(e.name, False) for e in storage.entries(folder, recursive=False) if not e.name.startswith((".", "_"))]
    return sorted(names)


class BucketListing:
    """What a file Home answers from a bucket: mixed into FileHome, which holds ``storage`` and ``prefix``."""

    storage: Storage
    prefix: str

    def matches_name(self, name: str) -> bool:
        raise NotImplementedError

    def stem_of(self, name: str) -> str:
        raise NotImplementedError

    def extensions(self) -> tuple[str, ...]:
        raise NotImplementedError

    def bucket_resolve(self, source: str) -> tuple[list[Blob], str, bool]:
        """The entity's files, where they were looked for, and whether that is a folder."""
        storage, prefix = self.storage, self.prefix
        if _GLOB.search(prefix):
            return globbed(storage, prefix, self.matches_name), prefix, False
        entry = stat(storage, prefix)
        if entry is not None:
            return [Blob(storage, prefix, entry)], prefix, False
        target = f"{prefix}/{source}".strip("/") if source else prefix
        found = self._bucket_literal(target)
        if found is None and _GLOB.search(source):
            return globbed(storage, target, self.matches_name), target, False
        return found or [], target, found is not None

    def _bucket_literal(self, target: str) -> list[Blob] | None:
        entry = stat(storage := self.storage, target)
        if entry is not None:
            return [Blob(storage, target, entry)]
        if is_folder(storage, target):
            return files_in(storage, target, self.matches_name)
        for ext in self.extensions():
            entry = stat(storage, target + ext)
            if entry is not None:
                return [Blob(storage, target + ext, entry)]
        return None

    def bucket_candidates(self) -> list[tuple[str, str]] | None:
        """Entities below the prefix as (entity name, child name); None when the prefix is no folder."""
        if not is_folder(self.storage, self.prefix):
            return None
        out = []
        for name, folder in children(self.storage, self.prefix):
            key = f"{self.prefix}/{name}".strip("/")
            if folder and files_in(self.storage, key, self.matches_name):
                out.append((name, name))
            elif not folder and self.matches_name(name):
                out.append((self.stem_of(name), name))
        return out
