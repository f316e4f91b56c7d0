"""The limits of a target's columns that Arrow types do not carry: VARCHAR(5), MEDIUMINT, DATETIME(0), ENUM(...).

A table someone else made often has columns narrower than the Arrow type of the rows:
strings into VARCHAR(5), int32 into MEDIUMINT, microseconds into DATETIME without
fractions. Engines differ in what they do with a value that does not fit: PostgreSQL
refuses most, but drops trailing spaces and rounds fractions of seconds; MySQL's LOAD DATA
cuts and rounds and only warns. So each dialect reads its columns' bounds from the catalog
(never only from the Arrow types hygge wrote), and every batch is checked here with Arrow
compute before it is loaded. The landing then fails the move naming each column and a
sample value, or widens the column where the schema policy lets it (db/fitting.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hygge.core.arrowtypes import extension_name

# The needs a widened column must meet, by kind of misfit (see Misfit.need).
CHARS, OCTETS, RANGE, STEP, DECIMALS, MEMBERS, TRAILING, REPERTOIRE, SIGNED_ZERO = (
    "chars", "octets", "range", "step", "decimals", "members", "trailing", "repertoire", "signed zero")


@dataclass(frozen=True)
class Bound:
    """What one column can hold beyond what its Arrow type says; None: no limit of that kind."""

    column: str
    declared: str                      # the column type as the catalog writes it, for messages
    chars: int | None = None           # most characters
    octets: int | None = None          # most bytes (text in UTF-8; binary)
    low: Any = None                    # least value, inclusive (number, date, naive UTC datetime, timedelta)
    high: Any = None                   # greatest value, inclusive
    step_us: int | None = None         # times held in whole multiples of this many microseconds
    decimals: int | None = None        # floats rounded to this many decimals (MySQL FLOAT(M,D))
    members: tuple[str, ...] | None = None  # ENUM: the values it can hold; SET: the members of its lists
    listed: bool = False               # SET: a value is a comma-separated list of members
    trailing_spaces: bool = True       # False: the column drops trailing spaces (MySQL CHAR)
    supplementary: bool = True         # False: no characters beyond U+FFFF (MySQL utf8mb3)
    negative_zero: bool = True         # False: -0.0 is stored as 0 (SQLite's REAL and NUMERIC affinity)
    widenable: frozenset[str] = frozenset()  # kinds of misfit the dialect can widen the column for
    family: str = ""                   # the dialect's own name of the column's kind, for widening it

    @property
    def limited(self) -> bool:
        return any(v is not None for v in (self.chars, self.octets, self.low, self.high, self.step_us,
                                           self.decimals, self.members)) or not (
            self.trailing_spaces and self.supplementary and self.negative_zero)


@dataclass
class Misfit:
    """Values of one column that break one of its bounds, in one batch."""

    bound: Bound
    kind: str
    rule: str     # what the column holds, e.g. "at most 5 characters"
    found: str    # what the values that do not fit are, e.g. "of up to 10 characters"
    count: int
    sample: Any
    need: Any     # what a widened column must hold: a length, (least, greatest), a step

    @property
    def widenable(self) -> bool:
        return self.kind in self.bound.widenable

    def line(self) -> str:
        if isinstance(self.sample, (str, bytes)):
            text = repr(self.sample)
            text = text if len(text) <= 60 else text[:57] + "..."
        else:
            text = shown(self.sample)
        return f"{self.bound.column} ({self.bound.declared}): {self.count:,} value(s) {self.found}, e.g. {text}"


def misfits(batch: pa.RecordBatch, bounds: Iterable[Bound]) -> list[Misfit]:
    """Every bound the batch's values break; an empty list when all of them fit."""
    out = []
    for bound in bounds:
        index = batch.schema.get_field_index(bound.column)
        if index < 0:
            continue
        values = _elements(batch.column(index))
        if not len(values) or values.null_count == len(values):
            continue
        for rule in _RULES:
            found = rule(bound, values)
            if found is not None:
                out.append(found)
    return out


def _elements(column: pa.Array) -> pa.Array:
    """The scalar values a column's bound applies to: list elements, decoded dictionaries, extension storage."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    while True:
        t = column.type
        if extension_name(t):
            column = column.storage
        elif pa.types.is_dictionary(t):
            column = column.dictionary_decode()
        elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            column = pc.list_flatten(column)
        else:
            return column


def _text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _bytes(t: pa.DataType) -> bool:
    return _text(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t) \
        or pa.types.is_binary_view(t)


def _misfit(bound: Bound, values: pa.Array, bad: pa.Array, kind: str, rule: str, found: str,
            need: Any) -> Misfit | None:
    bad = pc.fill_null(bad, False)
    count = pc.sum(bad).as_py() or 0
    if not count:
        return None
    return Misfit(bound, kind, rule, found, count, _sample(values, pc.index(bad, True).as_py()), need)


def _sample(values: pa.Array, index: int) -> Any:
    return _py(values.slice(index, 1))


def _py(one: pa.Array) -> Any:
    """The value of a one-value array, or its text where Python cannot hold it (nanoseconds, year 10000)."""
    try:
        return one[0].as_py()
    except (ValueError, OverflowError):
        return one.cast(pa.string())[0].as_py()


def _chars(bound: Bound, values: pa.Array) -> Misfit | None:
    if bound.chars is None or not _text(values.type):
        return None
    lengths = pc.utf8_length(values)
    top = pc.max(lengths).as_py()
    if top is None or top <= bound.chars:
        return None
    return _misfit(bound, values, pc.greater(lengths, bound.chars), CHARS, f"at most {bound.chars:,} characters",
                   f"of up to {top:,} characters", top)


def _octets(bound: Bound, values: pa.Array) -> Misfit | None:
    if bound.octets is None or not _bytes(values.type):
        return None
    if pa.types.is_fixed_size_binary(values.type) or pa.types.is_binary_view(values.type) or (
            pa.types.is_string_view(values.type)):
        values = values.cast(pa.binary() if not _text(values.type) else pa.string())
    lengths = pc.binary_length(values)
    top = pc.max(lengths).as_py()
    if top is None or top <= bound.octets:
        return None
    return _misfit(bound, values, pc.greater(lengths, bound.octets), OCTETS, f"at most {bound.octets:,} bytes",
                   f"of up to {top:,} bytes", top)


def _scalar(value: Any, t: pa.DataType) -> pa.Scalar | None:
    """A bound as a scalar of the values' type; None when there is none, or that type cannot even reach it."""
    if value is None:
        return None
    try:
        return pa.scalar(value, type=t)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        pass
    try:
        return pa.scalar(value).cast(t)  # e.g. the integer 0 as a decimal
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return None


def _comparable(values: pa.Array) -> pa.Array:
    """Values Arrow can order and compare with a bound: instants as UTC wall times, durations as counts."""
    t = values.type
    if pa.types.is_timestamp(t) and t.tz:
        return values.cast(pa.timestamp(t.unit))  # bounds of instants are given in UTC, as they are stored
    if pa.types.is_duration(t):
        return values.cast(pa.int64())
    return values


def _count(value: Any, t: pa.DataType) -> Any:
    """A timedelta bound as a count of a duration type's unit."""
    if pa.types.is_duration(t) and value is not None:
        return pa.scalar(value, type=t).cast(pa.int64()).as_py()
    return value


def _range(bound: Bound, values: pa.Array) -> Misfit | None:
    t = values.type
    if bound.low is None and bound.high is None:
        return None
    if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_temporal(t)):
        return None
    plain = _comparable(values)
    low, high = _scalar(_count(bound.low, t), plain.type), _scalar(_count(bound.high, t), plain.type)
    checks = []
    if low is not None:
        checks.append(pc.less(plain, low))
    if high is not None:
        checks.append(pc.greater(plain, high))
    if not checks:
        return None
    bad = pc.fill_null(checks[0] if len(checks) == 1 else pc.or_(checks[0], checks[1]), False)
    if not pc.any(bad).as_py():
        return None
    extremes = pc.min_max(plain)
    least, greatest = (_py(pa.array([extremes[end]]).cast(t if pa.types.is_duration(t) else plain.type))
                       for end in ("min", "max"))
    if bound.high is None:
        rule = f"values of {shown(bound.low)} or more"
    elif bound.low is None:
        rule = f"values up to {shown(bound.high)}"
    else:
        rule = f"values from {shown(bound.low)} to {shown(bound.high)}"
    found = f"of {shown(least)}" if least == greatest else f"from {shown(least)} to {shown(greatest)}"
    return _misfit(bound, values, bad, RANGE, rule, found, (least, greatest))


def shown(value: Any) -> str:
    """A bound or an extreme as people write it: durations as [-]H:MM:SS, times without a 'T'."""
    if isinstance(value, dt.timedelta):
        micros = abs(value) // dt.timedelta(microseconds=1)
        seconds, fraction = divmod(micros, 1_000_000)
        text = f"{seconds // 3600}:{seconds // 60 % 60:02}:{seconds % 60:02}" + (f".{fraction:06}" if fraction else "")
        return ("-" if value < dt.timedelta(0) else "") + text
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}


def _step(bound: Bound, values: pa.Array) -> Misfit | None:
    t = values.type
    if bound.step_us is None or not (pa.types.is_timestamp(t) or pa.types.is_time(t) or pa.types.is_duration(t)):
        return None
    per_unit = bound.step_us * 10 ** _DIGITS[t.unit] // 10**6  # the step counted in the values' own unit
    if per_unit <= 1:
        return None
    counts = values.cast(pa.int32() if pa.types.is_time32(t) else pa.int64()).cast(pa.int64())
    rest = pc.subtract(counts, pc.multiply(pc.divide(counts, per_unit), per_unit))
    return _misfit(bound, values, pc.not_equal(rest, 0), STEP, step_rule(bound.step_us), "finer than that", 1)


def step_rule(step_us: int) -> str:
    if step_us >= 10**18:
        return "only months and years"
    for size, name in ((86_400_000_000, "days"), (3_600_000_000, "hours"), (60_000_000, "minutes"),
                       (1_000_000, "seconds")):
        if step_us >= size:
            return f"whole {name}"
    return f"at most {6 - len(str(step_us)) + 1} digit(s) after the second"


def _decimals(bound: Bound, values: pa.Array) -> Misfit | None:
    if bound.decimals is None or not pa.types.is_floating(values.type) or pa.types.is_float16(values.type):
        return None
    bad = pc.and_(pc.not_equal(pc.round(values, ndigits=bound.decimals), values), pc.invert(pc.is_nan(values)))
    return _misfit(bound, values, bad, DECIMALS, f"{bound.decimals} decimal(s)", "with more decimals", None)


def _members(bound: Bound, values: pa.Array) -> Misfit | None:
    if bound.members is None or not _text(values.type):
        return None
    allowed = pa.array(bound.members, pa.string())
    text = values.cast(pa.string())
    if not bound.listed:
        bad = pc.invert(pc.is_in(text, value_set=allowed))
        return _misfit(bound, values, bad, MEMBERS, f"one of {_listing(bound.members)}", "that are none of them", None)
    parts = pc.split_pattern(text, ",")
    outside = pc.invert(pc.is_in(pc.list_flatten(parts), value_set=allowed))
    rows = pc.filter(pc.list_parent_indices(parts), outside)
    bad = pc.and_(pc.is_in(pa.array(range(len(text))), value_set=rows), pc.not_equal(text, ""))
    return _misfit(bound, values, bad, MEMBERS, f"comma-separated lists of {_listing(bound.members)}",
                   "that list something else", None)


def _listing(members: tuple[str, ...]) -> str:
    shown = ", ".join(repr(m) for m in members[:8])
    return shown + (f" and {len(members) - 8} more" if len(members) > 8 else "")


def _trailing(bound: Bound, values: pa.Array) -> Misfit | None:
    if bound.trailing_spaces or not _text(values.type):
        return None
    return _misfit(bound, values, pc.match_substring_regex(values, " $"), TRAILING,
                   "no trailing spaces (it drops them)", "with trailing spaces", None)


def _repertoire(bound: Bound, values: pa.Array) -> Misfit | None:
    if bound.supplementary or not _text(values.type):
        return None
    bad = pc.match_substring_regex(values, "[\\x{10000}-\\x{10FFFF}]")
    return _misfit(bound, values, bad, REPERTOIRE, "characters up to U+FFFF (no emoji and other 4-byte characters)",
                   "with 4-byte characters", None)


def _signed_zero(bound: Bound, values: pa.Array) -> Misfit | None:
    if bound.negative_zero or not pa.types.is_floating(values.type):
        return None
    return _misfit(bound, values, negative_zeros(values), SIGNED_ZERO, "no -0.0 (it stores 0)", "of -0.0", None)


def negative_zeros(values: pa.Array) -> pa.Array:
    """Where a float array holds -0.0 (equal to 0.0 for Arrow's comparisons): the sign bit alone is set."""
    width = values.type.bit_width
    bits = values.view({16: pa.int16(), 32: pa.int32(), 64: pa.int64()}[width])
    return pc.equal(bits, -(2 ** (width - 1)))


_RULES: tuple[Callable[[Bound, pa.Array], Misfit | None], ...] = (
    _chars, _octets, _range, _step, _decimals, _members, _trailing, _repertoire, _signed_zero)


def needs(found: Iterable[Misfit], into: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """What each column must hold after widening, merged over batches: {column: {kind: need}}."""
    out = into if into is not None else {}
    for m in found:
        kinds = out.setdefault(m.bound.column, {})
        old = kinds.get(m.kind)
        if m.kind in (CHARS, OCTETS):
            kinds[m.kind] = max(old or 0, m.need)
        elif m.kind == RANGE:
            least, greatest = m.need
            kinds[m.kind] = (least, greatest) if old is None else (min(old[0], least), max(old[1], greatest))
        else:
            kinds[m.kind] = m.need
    return out
