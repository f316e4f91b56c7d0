"""What the lake-table Stores and Homes share (Delta, Iceberg): locations, type mappings, data files, logs and commits."""
