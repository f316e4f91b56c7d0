"""Lists and structs that a database hands over as JSON text, parsed back into Arrow in bulk."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.compute as pc


def parse_json(column: pa.Array, wanted: pa.DataType) -> pa.Array:
    """JSON text (one value per row, nulls as nulls) as an array of ``wanted``; ArrowInvalid when a value is not
    of that shape."""
    import pyarrow.json as pjson

    text = column.cast(pa.string())
    # The last argument of binary_join_element_wise is the separator: here, none.
    line = pc.binary_join_element_wise('{"v":', pc.fill_null(text, "null"), "}\n", "")
    table = pjson.read_json(io.BytesIO(bytes(string_bytes(line))), parse_options=pjson.ParseOptions(
        explicit_schema=pa.schema([("v", wanted)])))
    return table.column("v").combine_chunks()


def string_bytes(array: pa.Array) -> memoryview:
    """The characters of a string array with no nulls, back to back: its data buffer, trimmed to the array."""
    text = array.cast(pa.large_string())
    if not len(text):
        return memoryview(b"")
    offsets = text.buffers()[1]
    start = pa.Array.from_buffers(pa.int64(), 1, [None, offsets], offset=text.offset)[0].as_py()
    end = pa.Array.from_buffers(pa.int64(), 1, [None, offsets], offset=text.offset + len(text))[0].as_py()
    return memoryview(text.buffers()[2])[start:end]
