"""Raw path, parquet -> parquet: ParquetFile.iter_batches into ParquetWriter, one thread, 1Mi-row batches."""

import sys

import pyarrow.parquet as pq

source, target = sys.argv[1], sys.argv[2]
handle = pq.ParquetFile(source)
writer = pq.ParquetWriter(target, handle.schema_arrow, compression="snappy")
for batch in handle.iter_batches(batch_size=1 << 20):
    writer.write_batch(batch)
writer.close()
