"""dlt 1.x as a benchmark contender: one pipeline run from a file or table into a destination (dlt venv only).

    dlt_run.py SRC DST [--format F] [--backend B] [--dataset D] [--table T] [--workdir W] [--many]

SRC: a .parquet or .csv file, local or s3://bucket/key | a folder of parquet files with --many (one table per file) |
     postgresql://user:pw@host/db#schema.table | mysql+pymysql://host/db#table | sqlite:////abs.db#table
DST: a folder or s3://bucket/prefix (filesystem destination; --table-format delta or iceberg for lake tables) |
     a path ending in .duckdb | postgresql://... | mysql+pymysql://...
S3 endpoint and keys come from the AWS_* variables (the lake and bucket lanes run this with the dltlake venv).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DATA_WRITER__DISABLE_COMPRESSION", "true")  # plain csv load files, as the others write

import dlt
from dlt.sources.filesystem import filesystem, read_csv_duckdb, read_parquet
from dlt.sources.sql_database import sql_table

CHUNK = 100_000


def s3_credentials():
    from dlt.common.configuration.specs import AwsCredentials

    return AwsCredentials(aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                          region_name=os.environ.get("AWS_REGION", "us-east-1"),
                          endpoint_url=os.environ["AWS_ENDPOINT_URL"])


def file_resource(path: str, table: str):
    if path.startswith("s3://"):
        folder, _, name = path.rpartition("/")
        files = filesystem(bucket_url=folder, file_glob=name, credentials=s3_credentials())
    else:
        files = filesystem(bucket_url=Path(path).parent.resolve().as_uri(), file_glob=Path(path).name)
    if path.endswith(".csv"):
        return (files | read_csv_duckdb(use_pyarrow=True, chunk_size=CHUNK)).with_name(table)
    return (files | read_parquet(use_pyarrow=True, chunksize=CHUNK)).with_name(table)


def resources(args: argparse.Namespace) -> list:
    if args.many:
        return [file_resource(str(p), p.stem) for p in sorted(Path(args.src).glob("*.parquet"))]
    if "#" not in args.src:
        return [file_resource(args.src, args.table)]
    url, _, qualified = args.src.partition("#")
    schema, _, table = qualified.rpartition(".")
    return [sql_table(credentials=url, table=table, schema=schema or None, backend=args.backend,
                      chunk_size=CHUNK).with_name(args.table)]


def destination(dst: str):
    if dst.startswith("postgresql://"):
        return dlt.destinations.postgres(credentials=dst)
    if dst.startswith("mysql"):
        return dlt.destinations.sqlalchemy(credentials=dst)
    if dst.endswith(".duckdb"):
        return dlt.destinations.duckdb(credentials=str(Path(dst).resolve()))
    if dst.startswith("s3://"):
        return dlt.destinations.filesystem(bucket_url=dst, credentials=s3_credentials())
    return dlt.destinations.filesystem(bucket_url=Path(dst).resolve().as_uri())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--format", default=None, help="loader file format: parquet, csv, insert_values, jsonl")
    parser.add_argument("--backend", default="pyarrow", help="sql_table backend: pyarrow, connectorx, sqlalchemy")
    parser.add_argument("--dataset", default="bench")
    parser.add_argument("--table", default="mixed")
    parser.add_argument("--workdir", default="/tmp/dlt_bench", help="pipelines_dir (pipeline state and packages)")
    parser.add_argument("--many", action="store_true", help="SRC is a folder: one table per parquet file")
    parser.add_argument("--table-format", default=None, help="filesystem destination: delta or iceberg")
    args = parser.parse_args()
    pipeline = dlt.pipeline(pipeline_name=f"bench_{os.getpid()}", destination=destination(args.dst),
                            dataset_name=args.dataset, pipelines_dir=args.workdir)
    print(pipeline.run(resources(args), write_disposition="replace", loader_file_format=args.format,
                       table_format=args.table_format))


if __name__ == "__main__":
    main()
