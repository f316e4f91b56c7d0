"""Zoned timestamps as text: the quick UTC path must give exactly the bytes Arrow's own cast gives."""

from __future__ import annotations

import pyarrow as pa
import pytest

from hygge.core.arrowtypes import as_type, utc_as_naive_text

# Seconds since the epoch: the epoch, just before it, 2023, year 1, the last second of 9999, year 10000, and a
# moment so far out that Arrow's naive formatting gives up ("<value out of range>").
SECONDS = [0, -1, 1_700_000_000, -62_135_596_800, 253_402_300_799, 253_402_300_800, 10**12]
PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", ["UTC", "+00:00", "Etc/UTC", "Europe/Paris", "+05:30"])
def test_timestamps_as_text_match_arrows_own_formatting(unit: str, tz: str) -> None:
    values = [s * PER_SECOND[unit] + (7 if unit != "s" else 0) for s in SECONDS]
    values = [v for v in values if -(2**63) <= v < 2**63] + [None]  # what the unit can hold
    column = pa.array(values, pa.int64()).cast(pa.timestamp(unit, tz))
    for target in (pa.string(), pa.large_string()):
        assert as_type(column, target).equals(column.cast(target)), (unit, tz, target)
        chunked = pa.chunked_array([column.slice(0, 3), column.slice(3)])
        assert as_type(chunked, target).equals(chunked.cast(target))
        in_range = column.slice(0, 5)  # up to year 9999: the quick path itself, not its fallback
        assert as_type(in_range, target).equals(in_range.cast(target))
    # only zones whose text is the naive text plus "Z" take the quick path
    assert utc_as_naive_text(column.type) == column.cast(pa.string())[0].as_py().endswith("Z")
