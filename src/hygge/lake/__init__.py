"""What the lake-table Stores and Homes share: table locations, the Delta type mapping, data files and the log."""
