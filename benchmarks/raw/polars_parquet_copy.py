"""Raw path, parquet -> parquet: polars scan_parquet().sink_parquet() (streaming engine)."""

import sys

import polars as pl

pl.scan_parquet(sys.argv[1]).sink_parquet(sys.argv[2], compression="snappy")
