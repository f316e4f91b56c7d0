"""Lake table formats: what the ``iceberg`` Store and Home share (catalogs, types, data files, commits)."""
