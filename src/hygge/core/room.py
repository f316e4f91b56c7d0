"""Writes that ran out of room: a full disk, an exhausted quota, a file size limit (``ulimit -f``).

Shared by every store that writes files, itself or through an engine. Engines say it in
their own words: an OSError's errno, DuckDB's "File too large", SQLite's "database or disk
is full", or only SQLite's "disk I/O error"; then the file being written and the disk it is
on tell which limit was reached.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

# errno -> (what ran out, what to do about it)
ROOM: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("the disk is full", "free space on that disk, or put the file on another one"),
    errno.EDQUOT: ("the disk quota is exhausted", "free space, or ask for a larger quota"),
    errno.EFBIG: ("a file reached the size this process may write (its file size limit, `ulimit -f`)",
                  "raise the file size limit of the user or service that runs hygge (ulimit -f), or keep that "
                  "file smaller"),
}
_WORDS = (("no space left on device", errno.ENOSPC), ("database or disk is full", errno.ENOSPC),
          ("disk quota exceeded", errno.EDQUOT), ("file too large", errno.EFBIG))


def ran_out(exc: BaseException) -> int | None:
    """The errno of what a failed write ran out of, from the exception or its causes; None for other failures."""
    seen: BaseException | None = exc
    for _ in range(8):  # an exception's causes, not an endless chain
        if seen is None:
            return None
        if isinstance(seen, OSError) and seen.errno in ROOM:
            return seen.errno
        text = str(seen).lower()
        for words, code in _WORDS:
            if words in text:
                return code
        seen = seen.__cause__ or seen.__context__
    return None


def ran_out_writing(path: Path, slack: int = 1 << 20) -> int | None:
    """For an engine that says only that a write failed: whether a file at ``path`` (or beside it, as
    ``path-wal``, ``path.wal``, ``path-journal``) reached this process's file size limit, or its disk is
    full to within ``slack`` bytes."""
    try:
        import resource
    except ImportError:  # not on this platform: no such limit to reach
        limit = None
    else:
        soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        limit = None if soft == resource.RLIM_INFINITY else soft
    if limit is not None:
        for candidate in (path, *(path.with_name(path.name + end) for end in ("-wal", ".wal", "-journal"))):
            try:
                if candidate.stat().st_size + slack >= limit:
                    return errno.EFBIG
            except OSError:
                continue
    try:
        disk = os.statvfs(path.parent if not path.is_dir() else path)
    except (OSError, AttributeError):
        return None
    return errno.ENOSPC if disk.f_bavail * disk.f_frsize < slack else None
