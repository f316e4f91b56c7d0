"""Small Home types for coordinator tests, registered through hygge's own plugin mechanism."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
from pydantic import Field

from hygge.core.plan import MovePlan
from hygge.errors import HyggeConnectionError
from hygge.homes.base import Home, HomeConfig, ReadState, Source


class TickConfig(HomeConfig):
    rows: int = 1000
    batches: int = 3
    pause: float = 0.0
    fail_times: int = Field(0, description="fail transiently this many times (counted in a file)")
    fail_always: bool = False
    counter: str = "attempts.txt"


class TickSource(Source):
    def __init__(self, config: TickConfig, counter: Path):
        self.config = config
        self.counter = counter
        self.description = f"{config.batches} generated batches"
        self.estimated_rows = config.rows * config.batches

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([("n", pa.int64())])

    def batches(self) -> Iterator[pa.RecordBatch]:
        attempts = int(self.counter.read_text()) if self.counter.exists() else 0
        self.counter.write_text(str(attempts + 1))
        for index in range(self.config.batches):
            time.sleep(self.config.pause)
            if index == 1 and (self.config.fail_always or attempts < self.config.fail_times):
                raise HyggeConnectionError("the server closed the connection", transient=True)
            start = index * self.config.rows
            yield pa.record_batch([pa.array(range(start, start + self.config.rows), pa.int64())], schema=self.schema)


class TickHome(Home):
    """Generates numbered rows; can be slow and can fail the way a flaky server does."""

    type_name = "tick"
    Config = TickConfig
    config: TickConfig

    def discover(self) -> list[tuple[str, str]]:
        return []

    def open(self, plan: MovePlan, state: ReadState | None = None) -> Source:
        return TickSource(self.config, self.root / f"{plan.entity}-{self.config.counter}")
