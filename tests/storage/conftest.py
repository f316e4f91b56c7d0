"""The `bucket` fixture (tests/buckets.py): each test of this folder runs once per bucket family."""

from tests.buckets import bucket

__all__ = ["bucket"]
