"""Zoned timestamps as text: the quick UTC path must give exactly the bytes Arrow's own cast gives."""

from __future__ import annotations

import pyarrow as pa
import pytest

from hygge.core.arrowtypes import as_type, utc_as_naive_text

MOMENTS = [0, -1, 1_700_000_000_123_456_789, -62_135_596_800_000_000_000 // 1000, None]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", ["UTC", "+00:00", "Etc/UTC", "Europe/Paris", "+05:30"])
def test_timestamps_as_text_match_arrows_own_formatting(unit: str, tz: str) -> None:
    per = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
    values = [v if v is None else v // per for v in MOMENTS]
    column = pa.array(values, pa.int64()).cast(pa.timestamp(unit, tz))
    for target in (pa.string(), pa.large_string()):
        assert as_type(column, target).equals(column.cast(target)), (unit, tz, target)
        chunked = pa.chunked_array([column, column.slice(1)])
        assert as_type(chunked, target).equals(chunked.cast(target))
    # only zones whose text is the naive text plus "Z" take the quick path
    assert utc_as_naive_text(column.type) == (column.cast(pa.string())[0].as_py().endswith("Z"))
