"""Numbers read from text (CSV cells, JSON numbers): the Arrow type that holds every one of them exactly.

Arrow's CSV and JSON readers guess int64, and float64 for anything else, so a uint64 id such as
18446744073709551615 or a decimal of 36 digits came back rounded. Text is read here as what it says:

- whole numbers stay int64 when they fit, then uint64, then decimal(P,0);
- other numbers are float64 when every one has at most 17 significant digits (the most a float64 ever
  prints, so such text can be a float64's, and reads back to the same float64) and an exponent float64
  reaches; otherwise decimal(P,S), with the scale as written;
- past 76 digits (decimal256) no Arrow number holds them, and the reader says so: the csv home reads such
  a column as text, the jsonl home names it and how to declare it.

Everything is Arrow compute over whole columns; nothing runs per value in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from hygge.core.arrowtypes import type_name

FLOAT_DIGITS = 17
MAX_DIGITS = 76  # decimal256
_LOWEST, _HIGHEST = -324, 308  # decimal exponents of float64's smallest (subnormal) and largest values
_NUMBER = r"^(?P<sign>[+-]?)(?P<int>[0-9]*)(?P<point>\.?)(?P<frac>[0-9]*)(?:[eE](?P<exp>[+-]?[0-9]{1,6}))?$"
_FLOAT_WORD = r"^[+-]?(?i:inf|infinity|nan)$"  # what Arrow parses as a float beside numbers
META = b"hygge:digits"  # field metadata: the Digits of an inferred column, for unifying files


@dataclass(frozen=True)
class Digits:
    """What the values of one column need, over its non-null values (all zero for a column of nulls)."""

    integer: int = 0  # most digits before the point, once the exponent is applied
    scale: int = 0  # most digits after the point, as written, once the exponent is applied
    significant: int = 0  # most significant digits (leading and trailing zeros not counted)
    whole: bool = True  # every value written as a whole number (no point, no exponent)
    negative: bool = False
    special: bool = False  # some text is not a plain number: nan, inf, infinity
    in_float_range: bool = True  # every exponent within float64's

    def merge(self, other: Digits) -> Digits:
        return Digits(max(self.integer, other.integer), max(self.scale, other.scale),
                      max(self.significant, other.significant), self.whole and other.whole,
                      self.negative or other.negative, self.special or other.special,
                      self.in_float_range and other.in_float_range)

    def encode(self) -> bytes:
        flags = "".join("1" if f else "0" for f in (self.whole, self.negative, self.special, self.in_float_range))
        return f"{self.integer},{self.scale},{self.significant},{flags}".encode()

    @classmethod
    def decode(cls, raw: bytes) -> Digits:
        integer, scale, significant, flags = raw.decode().split(",")
        whole, negative, special, in_range = (c == "1" for c in flags)
        return cls(int(integer), int(scale), int(significant), whole, negative, special, in_range)

    def fits_float(self) -> bool:
        return self.significant <= FLOAT_DIGITS and self.in_float_range


# A column whose digits are not known (a type declared elsewhere, a file that was not sampled): assume the widest.
UNKNOWN_INT = Digits(integer=19, significant=19, negative=True)


@dataclass
class _Parsed:
    """Per value: significant digits, digits before the point, scale, decimal exponent; and which were numbers."""

    number: pa.Array  # bool: the text is a plain number (nulls are not)
    whole: pa.Array
    negative: pa.Array
    significant: pa.Array
    integer: pa.Array  # may be negative for values below 1: the leading digit's place
    scale: pa.Array  # as written: 1.50 has two
    least: pa.Array  # the least that holds the value: 1.50 needs one


def _parse(text: pa.Array) -> _Parsed:
    parts = pc.extract_regex(text, _NUMBER)
    ints, fracs = parts.field("int"), parts.field("frac")
    digits = pc.binary_join_element_wise(ints, fracs, "")
    unpadded = pc.utf8_ltrim(digits, "0")
    significant = pc.binary_length(pc.utf8_rtrim(unpadded, "0"))
    trailing = pc.subtract(pc.binary_length(unpadded), significant)
    written = pc.utf8_ltrim(parts.field("exp"), "+")  # Arrow's cast takes "-38" but not "+38"
    exp = pc.if_else(pc.equal(written, ""), pa.scalar("0"), written).cast(pa.int32())
    leading = pc.subtract(pc.binary_length(digits), pc.binary_length(unpadded))
    integer = pc.subtract(pc.add(pc.binary_length(ints), exp), leading)
    integer = pc.if_else(pc.equal(significant, 0), pa.scalar(0, pa.int32()), integer)  # zero has no digits
    # A value must have a digit: "." or "+" alone are no numbers (Arrow does not parse them either).
    number = pc.and_kleene(pc.is_valid(parts), pc.greater(pc.binary_length(digits), 0))
    whole = pc.and_(pc.equal(parts.field("point"), ""), pc.equal(parts.field("exp"), ""))
    return _Parsed(
        number=pc.fill_null(number, False),
        whole=whole,
        negative=pc.and_(pc.equal(parts.field("sign"), "-"), pc.greater(significant, 0)),
        significant=significant,
        integer=integer,
        scale=pc.subtract(pc.binary_length(fracs), exp),
        least=pc.if_else(pc.equal(significant, 0), pa.scalar(0, pa.int32()),
                         pc.subtract(pc.subtract(pc.binary_length(fracs), exp), trailing)),
    )


def _max(values: pa.Array, default: int = 0) -> int:
    found = pc.max(values).as_py()
    return default if found is None else int(found)


def digits_of_text(text: pa.Array, written: bool = True) -> Digits:
    """The Digits of a column of number text (nulls ignored). ``written``: the text is as written (a CSV cell);
    otherwise it is a value printed by Arrow (1.5000E-10), whose padding zeros say nothing."""
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    valid = pc.is_valid(text)
    parsed = _parse(text)
    other = pc.and_(valid, pc.invert(parsed.number))
    special = bool(pc.any(other).as_py())
    # Text Arrow read as a float that is neither a number nor inf or nan (an exponent of seven digits): float64
    # turned it into infinity or zero.
    strange = special and not pc.all(pc.match_substring_regex(pc.filter(text, other), _FLOAT_WORD)).as_py()
    mask = parsed.number

    def over(values: pa.Array) -> pa.Array:
        return pc.filter(values, mask)

    integer = over(parsed.integer)
    place = pc.subtract(integer, 1)  # decimal exponent of the leading digit
    nonzero = pc.filter(place, pc.greater(over(parsed.significant), 0))
    in_range = len(nonzero) == 0 or (_max(nonzero) <= _HIGHEST and -_max(pc.negate(nonzero)) >= _LOWEST)
    scale = over(parsed.scale if written else parsed.least)
    whole = over(parsed.whole) if written else pc.less_equal(scale, 0)
    return Digits(
        integer=max(0, _max(integer)),
        scale=max(0, _max(scale)),
        significant=_max(over(parsed.significant)),
        whole=bool(pc.all(whole).as_py() if len(integer) else True),
        negative=bool(pc.any(over(parsed.negative)).as_py() or False),
        special=special,
        in_float_range=in_range and not strange,
    )


def decimal_text(values: pa.Array) -> pa.Array:
    """Decimals as the shortest text of their value: 1.5, 100, 1.0000E-10 (Arrow writes small ones so, and
    pads the rest with the zeros of its scale, which say nothing of the number)."""
    text = pc.cast(values, pa.string())
    plain = pc.invert(pc.fill_null(pc.match_substring(text, "E"), False))
    return pc.if_else(plain, pc.utf8_rtrim(pc.utf8_rtrim(text, "0"), "."), text)


def float_digits(text: pa.Array, floats: pa.Array, written: bool = True) -> Digits | None:
    """The Digits of a column of number text that float64 holds (``floats``, the same values parsed), found without
    taking the text apart (which cost 0.9 s a million values); None when float64 does not hold them all.
    ``written`` as for digits_of_text."""
    if isinstance(text, pa.ChunkedArray):
        text, floats = text.combine_chunks(), floats.combine_chunks()
    if len(rounded(text, floats)):
        return None
    finite = pc.filter(floats, pc.fill_null(pc.is_finite(floats), False))
    largest = max(abs(pc.min(finite).as_py() or 0.0), abs(pc.max(finite).as_py() or 0.0))
    # digits after the point: a plain number's length after its point; exponents are rare, and taken apart
    exponent = pc.fill_null(pc.match_substring(text, "e", ignore_case=True), False)
    point = pc.find_substring(text, ".")
    after = pc.subtract(pc.subtract(pc.binary_length(text), point), pa.scalar(1, point.type))
    scale = _max(pc.filter(after, pc.and_(pc.greater_equal(point, 0), pc.invert(exponent))))
    if pc.any(exponent).as_py():
        scale = max(scale, digits_of_text(pc.filter(text, exponent), written).scale)
    return Digits(
        integer=0 if largest < 1 else math.floor(math.log10(largest)) + 1,
        scale=max(scale, 0),
        significant=FLOAT_DIGITS,  # at most, which is all that matters to float64
        whole=False,
        negative=bool(pc.any(pc.less(floats, 0.0)).as_py()),
        special=len(finite) < len(floats) - floats.null_count,  # nan, inf
    )


def digits_of_ints(column: pa.Array | pa.ChunkedArray) -> Digits:
    """The Digits of an integer column, from its smallest and largest values."""
    low, high = pc.min(column).as_py(), pc.max(column).as_py()
    if low is None or high is None:
        return Digits()
    widest = max(len(str(abs(low))), len(str(abs(high))))
    return Digits(integer=widest, significant=widest, negative=low < 0)


def decimal_type(integer: int, scale: int) -> pa.DataType | None:
    precision = max(1, integer + scale)
    if precision > MAX_DIGITS:
        return None
    return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)


def _whole_type(d: Digits) -> pa.DataType | None:
    # int64 holds every number of 18 digits and uint64 every one of 19; longer ones only the text can settle.
    if d.integer <= 18:
        return pa.int64()
    if not d.negative and d.integer <= 19:
        return pa.uint64()
    return decimal_type(d.integer, 0)


def _edge_type(values: pa.Array) -> pa.DataType | None:
    """int64 or uint64 if it holds every one of these whole numbers of 19 or 20 digits (text or decimals)."""
    if pa.types.is_decimal(values.type):
        low, high = pc.min(values).as_py(), pc.max(values).as_py()
        if low is None or high is None:
            return pa.int64()
        if low >= -(2**63) and high < 2**63:
            return pa.int64()
        return pa.uint64() if low >= 0 and high < 2**64 else None
    values = pc.utf8_ltrim(values, "+")
    for candidate in (pa.int64(), pa.uint64()):
        try:
            values.cast(candidate)
            return candidate
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


def exact_type(d: Digits, values: pa.Array | None = None, written: bool = True) -> pa.DataType | None:
    """The narrowest type that holds every value exactly, or None when no Arrow number does.

    ``values`` (their text, or decimals), when given, settle whole numbers at the edge of int64 and uint64 (19
    and 20 digits) by a cast. ``written``: the values are text as written (a CSV cell), so whole numbers are
    whole; otherwise they are values of numbers written some other way (1e10, 2.0), and float64 is kept
    wherever it holds every one.
    """
    if not written and d.fits_float():
        return pa.float64()
    if d.whole and not d.special:
        if values is not None and d.integer in (19, 20):
            return _edge_type(values) or decimal_type(d.integer, 0)
        return _whole_type(d)
    if d.fits_float():
        return pa.float64()
    return None if d.special else decimal_type(d.integer, d.scale)


def wide_decimal(dtype: pa.DataType) -> pa.DataType:
    """The decimal a reader parses a column of ``dtype`` into: Arrow's parsers and casts into a 128-bit
    decimal wrap around silently when rescaling overflows (1234567890123456789012345678901.5 became
    9551369208078320544197092147.1344387584 in decimal(38,10)); in 256 bits they do not."""
    return pa.decimal256(MAX_DIGITS, dtype.scale)


def to_decimal(values: pa.Array, dtype: pa.DataType) -> pa.Array:
    """Text or a wide decimal as ``dtype``, refusing (ArrowInvalid) a value it does not hold."""
    wide = wide_decimal(dtype)
    if values.type != wide:
        values = values.cast(wide)
    if dtype == wide:
        values.validate(full=True)  # a value of 77 digits fits 256 bits but not the precision
        return values
    return values.cast(dtype)


def column_digits(field: pa.Field) -> Digits:
    if field.metadata and META in field.metadata:
        return Digits.decode(field.metadata[META])
    if pa.types.is_integer(field.type):
        return UNKNOWN_INT
    if pa.types.is_decimal(field.type):
        return Digits(integer=field.type.precision - field.type.scale, scale=field.type.scale,
                      significant=field.type.precision, whole=field.type.scale == 0, negative=True)
    return Digits(significant=FLOAT_DIGITS, whole=False, special=True)  # a float64 of unknown text


def with_digits(field: pa.Field, d: Digits, dtype: pa.DataType | None = None) -> pa.Field:
    return pa.field(field.name, dtype or field.type, True, {**(field.metadata or {}), META: d.encode()})


def is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def unify(a: pa.Field, b: pa.Field) -> tuple[pa.DataType | None, Digits]:
    """The type holding every value of two numeric columns exactly (None if no number does), and their Digits."""
    da, db = column_digits(a), column_digits(b)
    if pa.types.is_decimal(a.type):
        da = da.merge(column_digits(pa.field(a.name, a.type)))
    if pa.types.is_decimal(b.type):
        db = db.merge(column_digits(pa.field(b.name, b.type)))
    d = da.merge(db)
    if a.type == b.type and not pa.types.is_decimal(a.type):
        return a.type, d
    types = (a.type, b.type)
    if all(pa.types.is_integer(t) for t in types):
        if not d.negative and any(pa.types.is_unsigned_integer(t) for t in types):
            return pa.uint64(), d
        return (pa.int64() if d.integer <= 18 else decimal_type(max(d.integer, 20), 0)), d
    if any(pa.types.is_decimal(t) for t in types) or not d.fits_float():
        return (None if d.special else decimal_type(d.integer, d.scale)), d
    return pa.float64(), d


def rounded(text: pa.Array, floats: pa.Array) -> pa.Array:
    """The values of ``text`` (read as ``floats``) that float64 does not hold: more than 17 significant digits,
    or out of its range (1e400 became infinity, 1e-400 zero).

    Most values are settled from their length and their float alone; only text that cannot be settled so is
    taken apart. Computed floats print in 17 to 19 characters, and taking every one apart cost 0.9 s per ten
    million values; bounding the digits of every one (_digit_bound) still cost 0.5 s.
    """
    if isinstance(text, pa.ChunkedArray):
        text, floats = text.combine_chunks(), floats.combine_chunks()
    lengths = pc.binary_length(text)
    int32 = lengths.type
    # Text without a point has no character to spare for one: below 10^17 it holds at most 17 digits anyway.
    odd = pc.or_(pc.greater_equal(floats, 1e17), pc.less_equal(floats, -1e17))
    odd = pc.or_(odd, pc.is_inf(floats))
    odd = pc.fill_null(pc.or_(odd, pc.and_(pc.equal(floats, 0.0), pc.greater(lengths, pa.scalar(4, int32)))), False)
    # 17 digits and a point take 18 characters: only longer text may hold more digits
    long = pc.fill_null(pc.and_(pc.greater(lengths, pa.scalar(FLOAT_DIGITS + 1, int32)), pc.invert(odd)), False)
    suspects = [pc.filter(text, odd)] if pc.any(odd).as_py() else []
    suspect_floats = [pc.filter(floats, odd)] if suspects else []
    if pc.any(long).as_py():
        some, some_floats = pc.filter(text, long), pc.filter(floats, long)
        over = pc.greater(_digit_bound(some, some_floats, pc.binary_length(some)), pa.scalar(FLOAT_DIGITS, int32))
        suspects.append(pc.filter(some, over))
        suspect_floats.append(pc.filter(some_floats, over))
    if not sum(len(s) for s in suspects):
        return text.slice(0, 0)
    some = pa.concat_arrays(suspects)
    some_floats = pa.concat_arrays(suspect_floats)
    parsed = _parse(some)
    place = pc.subtract(parsed.integer, 1)  # the decimal exponent of the leading digit
    fits = pc.and_(pc.less_equal(parsed.significant, FLOAT_DIGITS),
                   pc.and_(pc.less_equal(place, _HIGHEST), pc.greater_equal(place, _LOWEST)))
    fits = pc.or_(fits, pc.equal(parsed.significant, 0))
    fits = pc.and_(fits, pc.invert(pc.is_inf(some_floats)))
    fits = pc.or_(pc.fill_null(fits, False), pc.match_substring_regex(some, _FLOAT_WORD))  # inf and nan are floats
    return pc.filter(some, pc.invert(fits))


def _digit_bound(text: pa.Array, floats: pa.Array, lengths: pa.Array) -> pa.Array:
    """Per value, at least as many as its significant digits: its length less the characters that are surely no
    digits. A point (text without one is settled by its size); a minus sign; below 1 the "0" of "0.5" (not in
    ".5"), below 0.1 and 0.01 the zeros after the point. Text such as "5e-3" has no such zeros, but its exponent
    holds at least as many characters. Comparisons on bitmaps and int32 arithmetic only: no text is taken apart.
    """
    int32 = lengths.type

    def count(mask: pa.Array) -> pa.Array:
        return pc.cast(mask, int32)

    bound = pc.subtract(lengths, pa.scalar(1, int32))
    negative = pc.less(floats, 0.0)
    if pc.any(negative).as_py():
        bound = pc.subtract(bound, count(negative))
    below = [pc.and_(pc.greater(floats, -limit), pc.less(floats, limit)) for limit in (1.0, 0.1, 0.01)]
    if pc.any(below[0]).as_py():
        bare = pc.or_(pc.starts_with(text, "."), pc.starts_with(text, "-."))
        bound = pc.subtract(bound, count(pc.and_(below[0], pc.invert(bare))))
        for band in below[1:]:
            bound = pc.subtract(bound, count(band))
    return bound


def declaration(name: str, d: Digits, text_ok: bool) -> str:
    """The `columns:` entry that reads a column exactly, for a hint."""
    dtype = None if d.special else decimal_type(d.integer, d.scale)
    if dtype is not None:
        return f"`columns: {{{name}: {type_name(dtype)}}}`"
    return f"`columns: {{{name}: string}}`" if text_ok else f"`columns: {{{name}: float64}}` (rounds them)"
