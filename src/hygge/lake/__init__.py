"""What the lake-table Stores and Homes share (Delta, Iceberg): locations, types, data files, logs, commits."""
