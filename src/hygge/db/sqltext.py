"""SQL text with its values kept apart until the whole statement is rendered, once, for one dialect.

A read is put together from pieces written in different places: the table or the user's own query, the
incremental filter (watermark, lookback, --from/--to) and a partition's key range. Numbering placeholders
piece by piece (PostgreSQL's ``$1``) shifted every value of the second piece onto the first one's column;
scanning finished text for placeholders mangled a user's query holding ``%s`` or ``$1``, and a column
named ``what?``. Here a value is never text until ``render`` walks the pieces in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class Value:
    """A value bound into a statement: a watermark, a window bound, a partition's edge. It stays an Arrow
    scalar of the column's type, so each dialect encodes it as that column is stored (SQLite keeps timestamps
    as text, DuckDB takes nanoseconds only as text)."""

    value: pa.Scalar


@dataclass(frozen=True)
class Sql:
    pieces: tuple[str | Value, ...] = ()

    @staticmethod
    def text(text: str) -> Sql:
        return Sql((text,)) if text else Sql()

    @staticmethod
    def value(value: pa.Scalar) -> Sql:
        return Sql((Value(value),))

    def __add__(self, other: Sql | str) -> Sql:
        return Sql(self.pieces + (Sql.text(other) if isinstance(other, str) else other).pieces)

    def __radd__(self, other: str) -> Sql:
        return Sql.text(other) + self

    def __bool__(self) -> bool:
        return bool(self.pieces)

    @staticmethod
    def join(separator: str, parts: Iterable[Sql]) -> Sql:
        out = Sql()
        for number, part in enumerate(p for p in parts if p):
            out = out + (separator if number else "") + part
        return out

    def render(self, placeholder: Callable[[int], str] | None, literal: Callable[[pa.Scalar], str],
               bound: Callable[[pa.Scalar], tuple[str, Any]]) -> tuple[str, tuple[Any, ...]]:
        """The statement's text and the values to bind with it.

        ``placeholder(n)`` gives the driver's marker for the n-th value (1-based) and ``bound(value)`` the text
        around it (``{}`` marks the placeholder) and the object the driver binds; with no placeholder, every
        value is written into the text by ``literal`` (drivers whose streaming reads take no bound values).
        """
        out: list[str] = []
        values: list[Any] = []
        for piece in self.pieces:
            if isinstance(piece, str):
                out.append(piece)
            elif placeholder is None:
                out.append(literal(piece.value))
            else:
                around, value = bound(piece.value)
                values.append(value)
                out.append(around.format(placeholder(len(values))))
        return "".join(out), tuple(values)
