"""Parallel reads of one PostgreSQL table by physical location: ranges of ``ctid`` (page, row) read on several
sessions that share one snapshot.

A single COPY stream is served by one server process; on the benchmark's 10M-row table that process, not hygge,
set the pace (reading alone: 6.8-7.1 s on one session, 5.4-5.6 s on two). DuckDB's postgres scanner reads so by
default. Each range is a TID range scan (PostgreSQL 14 and later), so every session reads only its own pages.

Correctness rests on two things:

- the ranges cover every ``ctid`` there is: the first is open below and the last open above (rows on pages
  added after the size was read), neighbours share a cut point, one side ``<`` and the other ``>=``;
- every session reads the same snapshot: one session exports it (``pg_export_snapshot``) and holds it open while
  the readers import it (``SET TRANSACTION SNAPSHOT``). An UPDATE gives a row a new ``ctid``, possibly in another
  range: read at different moments, the row would be read twice, or not at all.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from hygge.db.sqltext import Sql

# Below this size a second session and a snapshot cost more than they save.
MIN_BYTES = 64 << 20
_SNAPSHOT = re.compile(r"^[0-9A-Fa-f-]+$")

PAGES = """
    SELECT c.relkind, pg_relation_size(c.oid), current_setting('block_size')::int,
           current_setting('server_version_num')::int
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2"""


def pages_of(found: list[tuple[Any, ...]]) -> int | None:
    """The table's pages, from the PAGES query, when it is worth splitting: a plain table (or materialized view)
    of at least MIN_BYTES, on a server with TID range scans (before 14, each range would scan the whole table)."""
    if not found:
        return None
    kind, size, block, version = found[0]
    if str(kind) not in ("r", "m") or int(version) < 140000 or int(size) < MIN_BYTES:
        return None
    return int(size) // int(block)


def page_ranges(pages: int, n: int) -> list[Sql]:
    """``n`` conditions on ``ctid`` that together hold every row exactly once, each about ``pages / n`` pages."""
    cuts = sorted({pages * i // n for i in range(1, n)} - {0})
    if not cuts:
        return [Sql()]
    bounds = [f"'({cut},0)'::tid" for cut in cuts]  # offset 0 comes before a page's first row (offsets start at 1)
    ranges = [f"ctid < {bounds[0]}"]
    ranges += [f"ctid >= {low} AND ctid < {high}" for low, high in itertools.pairwise(bounds)]
    ranges.append(f"ctid >= {bounds[-1]}")
    return [Sql.text(text) for text in ranges]


def checked_snapshot(name: Any) -> str:
    text = str(name)
    if not _SNAPSHOT.match(text):  # it is written into a statement: only the server's own form is taken
        raise ValueError(f"unexpected snapshot name {text!r}")
    return text
