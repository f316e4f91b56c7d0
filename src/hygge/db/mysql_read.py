"""Reading MySQL/MariaDB into Arrow with ConnectorX, in pages of bounded size.

ConnectorX's stream reads ahead as fast as the server sends, whatever the
consumer does, so tables with an integer primary key are read page by page
(``key > last ORDER BY key LIMIT n``); only queries and tables without such a
key use the stream.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from hygge.errors import HyggeConnectionError, MissingDriver, ReadError


def _connectorx() -> Any:
    try:
        import connectorx
    except ModuleNotFoundError as exc:
        raise MissingDriver("connectorx", "mysql", needed_for="reading from MySQL") from exc
    return connectorx


def literal(value: Any) -> str:
    import pymysql.converters

    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)  # sessions run in UTC
    return str(pymysql.converters.escape_item(value, "utf8mb4"))


def inline(sql: str, params: tuple[Any, ...]) -> str:
    if not params:
        return sql  # a finished statement (Dialect.render): its own % and %s are the query's, not markers
    parts = sql.split("%s")
    out = parts[0]
    for value, part in zip(params, parts[1:], strict=True):
        out += literal(value) + part
    return out.replace("%%", "%")


def rows_per_page(schema: pa.Schema | None, batch_bytes: int) -> int:
    from hygge.db.duckdb import rows_for

    return rows_for(schema, batch_bytes)


def read(d: Any, sql: str, schema: pa.Schema | None, batch_bytes: int, params: tuple[Any, ...],
         key: str | None = None) -> Iterator[pa.RecordBatch]:
    from hygge.db.mysql import SESSION

    cx = _connectorx()
    url = d.spec.url("mysql")
    query = inline(sql, params)
    rows = rows_per_page(schema, batch_bytes)
    try:
        if key is None:
            stream = cx.read_sql(url, query, return_type="arrow_stream", batch_size=rows,
                                 pre_execution_query=list(SESSION))
            for batch in stream:
                yield conformed(batch, schema)
            return
        last: Any = None
        column = d.quote(key)
        while True:
            after = f" WHERE {column} > {literal(last)}" if last is not None else ""
            page = cx.read_sql(url, f"SELECT * FROM ({query}) AS hygge_page{after} ORDER BY {column} LIMIT {rows}",
                               return_type="arrow", pre_execution_query=list(SESSION))
            for batch in page.to_batches():
                yield conformed(batch, schema)
            if page.num_rows < rows:
                return
            last = page.column(key)[-1].as_py()
    except BaseException as exc:  # ConnectorX panics are BaseExceptions; everything leaves as a HyggeError
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)) or not _from_connectorx(exc):
            raise
        raise explain(d, exc) from None


def _from_connectorx(exc: BaseException) -> bool:
    return type(exc).__name__ == "PanicException" or isinstance(exc, RuntimeError)


def explain(d: Any, exc: BaseException) -> Exception:
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    if "0000-00-00" in text or "zero date" in text.lower() or "out of range" in text.lower():
        return ReadError("a date or time column holds values Arrow cannot represent (zero dates such as 0000-00-00)",
                         path=d.spec.display(), found=text,
                         hint="read the column with a `query:` that turns them into NULL, e.g. "
                              "IF(MONTH(c) = 0, NULL, c) AS c")
    transient = d.transient(exc)
    kind = HyggeConnectionError if transient else ReadError
    return kind(f"mysql failed while reading rows: {text}", path=d.spec.display(), transient=transient,
                hint="check the message above; run with --verbose for details")


def conformed(batch: pa.RecordBatch, schema: pa.Schema | None) -> pa.RecordBatch:
    from hygge.db.mysql_types import conform

    if schema is None:
        return batch
    try:
        columns = [conform(batch.column(i), f.type) for i, f in enumerate(schema)]
    except (pa.ArrowInvalid, ValueError) as exc:
        raise ReadError("a value read from MySQL does not fit the column's type", found=str(exc).splitlines()[0],
                        hint="check the column's values; SQL mode may have let invalid values in") from exc
    return pa.RecordBatch.from_arrays(columns, schema=schema)
