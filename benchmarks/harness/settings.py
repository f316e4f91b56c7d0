"""Where things live and how to reach the databases; every path is absolute so generated projects work anywhere."""

from __future__ import annotations

import os
import re
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent
DATA = BENCH / "data"
WORK = BENCH / "_work"
PEERS = WORK / "peers"
OUT = WORK / "out"

HYGGE_PYTHON = Path(os.environ.get("HYGGE_PYTHON", REPO / ".venv" / "bin" / "python"))
HYGGE = HYGGE_PYTHON.parent / "hygge"
RAW_PYTHON = PEERS / "raw-venv" / "bin" / "python"

PG_URL = os.environ.get("HYGGE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
MY_URL = os.environ.get("HYGGE_BENCH_MYSQL", "mysql://root@127.0.0.1:3306")

SOURCE_SCHEMA = "hygge_bench"
TARGET_PREFIX = "hygge_bench_out_"
DUCKDB_SCHEMA = "bench"
TABLE = "mixed"

SMALL_TABLES = 500
SMALL_ROWS = 1_000
WIDE_COLUMNS = 200
WIDE_DIVISOR = 10
LINEITEM_PER_SF = 6_000_000   # TPC-H lineitem rows per scale factor (about 6,001,215 at SF 1)
TPCHGEN = "tpchgen-cli==4.0.0"

_SUFFIX = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}


def parse_rows(text: str) -> int:
    """'1m' -> 1_000_000, '250k' -> 250_000, '5000' -> 5000."""
    match = re.fullmatch(r"(\d+)([kmb]?)", text.strip().lower())
    if not match:
        raise ValueError(f"not a row count: {text!r} (use e.g. 100k, 1m, 10m)")
    return int(match.group(1)) * _SUFFIX.get(match.group(2), 1)


def rows_label(rows: int) -> str:
    """1_000_000 -> '1m': the inverse of parse_rows, used in file and table names."""
    for suffix, factor in sorted(_SUFFIX.items(), key=lambda kv: -kv[1]):
        if rows % factor == 0:
            return f"{rows // factor}{suffix}"
    return str(rows)


def mysql_url(database: str = "") -> str:
    return f"{MY_URL.rstrip('/')}/{database}"
