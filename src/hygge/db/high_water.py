"""The watermark's highest value when a read begins, as the upper bound of an incremental read that is made of
more than one statement.

One statement reads one snapshot: the watermark the run commits (the highest value it read) is then the highest
the table held at that moment, and whatever changes later carries a higher value, read by the next run. A read in
several statements (MySQL's pages by primary key, key ranges, a cluster's partitions) sees the table at several
moments. Without a bound, a row changed after its page was read, but before a later page was, would be passed over
for good: the later page brings rows changed later still, and the next run starts after those.

So the read keeps to rows at or below the highest value there was before its first statement. A row changed
meanwhile gets a higher value (the watermark grows with every change), so this run reads it in its earlier form or
not at all, and the next run reads it as it is. Rows whose watermark is NULL are read as before: by the first run,
which has no lower bound either. `hygge go --full-drop` of an incremental entity commits the watermark it read
too, which the next incremental run starts from: it is bounded the same way. An entity whose run type is
`full_drop` reads every row instead, and commits no later watermark than this value (db/sqlhome.py).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from hygge.db.dialect import Dialect
from hygge.db.partitions import extremes
from hygge.db.sqltext import Sql


def up_to_high_water(d: Dialect, conn: Any, base: str, column: str, dtype: pa.DataType, where: Sql,
                     keep_nulls: bool) -> Sql:
    """``where`` and: watermark ``column`` at most its highest value among the rows ``where`` keeps, now; with
    ``keep_nulls`` (a first or full load, whose ``where`` bounds no watermark) rows with none are kept too."""
    col = d.quote(column)
    (high,) = extremes(d, conn, base, column, dtype, where, ("MAX",))
    if high.is_valid:
        bound = Sql.text(f"{col} <= ") + Sql.value(high)
        bound = bound if not keep_nulls else Sql.text("(") + bound + f" OR {col} IS NULL)"
    else:  # no row has a value yet: those that get one meanwhile are the next run's
        bound = Sql.text(f"{col} IS NULL" if keep_nulls else "1 = 0")
    return Sql.join(" AND ", [Sql.text("(") + where + ")" if where else Sql(), bound])
