"""The shape of a workspace's configuration, as pydantic models.

Home and Store sections stay plain dicts here: their fields depend on their
``type`` and are validated by that type's own model (see registry.py), so a
misspelled csv option gets the csv option list as its "did you mean".
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ByteSize, ConfigDict, Field, field_validator

from hygge.core import durations

RunType = Literal["full_drop", "append", "incremental", "merge"]
RUN_TYPES: tuple[str, ...] = ("full_drop", "append", "incremental", "merge")
ExecutorName = Literal["threads", "inline", "dask"]

Scalar = str | int | float | bool | None

# Two batches in flight keep both sides busy; more only costs memory (see benchmarks/README.md).
DEFAULT_QUEUE_BYTES = 64 * 2**20
DEFAULT_BATCH_BYTES = 32 * 2**20


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Polish(Strict):
    """Light, per-batch reshaping between Home and Store."""

    select: list[str] | None = Field(None, description="keep only these columns, in this order")
    drop: list[str] = Field(default_factory=list, description="remove these columns")
    rename: dict[str, str] = Field(default_factory=dict, description="old name: new name")
    constants: dict[str, Scalar] = Field(default_factory=dict, description="new column: constant value")
    load_timestamp: str | None = Field(None, description="name of a column set to the run's start time (UTC)")
    cast: dict[str, str] = Field(default_factory=dict,
                                 description="source column: type, e.g. amount: decimal(12,2); a value the type does "
                                             "not hold fails the move")

    @field_validator("cast")
    @classmethod
    def _cast_types(cls, value: dict[str, str]) -> dict[str, str]:
        from hygge.core.arrowtypes import validate_column_types

        return validate_column_types(value)

    def is_empty(self) -> bool:
        return not (self.select is not None or self.drop or self.rename or self.constants or self.load_timestamp
                    or self.cast)


class Options(Strict):
    """How a run behaves; from hygge.yml ``options:``, overridable on the command line."""

    concurrency: int = Field(4, ge=1, description="moves running at once, across all flows")
    fail_fast: bool = Field(False, description="stop every other move at the first failure")
    retries: int = Field(2, ge=0, description="extra attempts for transient errors")
    retry_backoff: float = Field(1.0, ge=0, description="seconds before the first retry; doubles each time")
    queue_bytes: ByteSize = Field(ByteSize(DEFAULT_QUEUE_BYTES), description="bytes held between reader and writer")
    batch_bytes: ByteSize = Field(ByteSize(DEFAULT_BATCH_BYTES), description="target size of one batch in memory")
    lock_wait: float = Field(0.0, ge=0, description="seconds to wait for another run's lock on an entity")
    executor: ExecutorName = "threads"
    scheduler: str | None = Field(None, description="dask scheduler address (executor: dask)")
    workers: int | None = Field(None, ge=1, description="local dask workers when no scheduler is given")

    @field_validator("queue_bytes", "batch_bytes")
    @classmethod
    def _positive(cls, value: ByteSize) -> ByteSize:
        if value <= 0:
            raise ValueError("must be a positive size such as 64MiB")
        return value


class SchemaPolicy(Strict):
    """What to do when the source's columns differ from the target's."""

    new_columns: Literal["add", "ignore", "fail"] = "add"
    missing_columns: Literal["fill_null", "fail"] = "fill_null"
    type_changes: Literal["widen", "fail"] = "widen"


class Defaults(Strict):
    """Settings shared by several entities; the nearest definition wins."""

    run_type: RunType | None = None
    polish: Polish | None = None
    allow_empty: bool | None = None
    watermark: str | None = None
    lookback: str | int | float | None = None
    keys: list[str] | None = None
    delete_column: str | None = None
    schema_policy: SchemaPolicy | None = None
    home: dict[str, Any] | None = None
    store: dict[str, Any] | None = None
    expect_every: str | int | float | None = Field(
        None, description="how often a successful load is expected (30m, 1h, 2d); `hygge report` flags older ones")

    @field_validator("expect_every")
    @classmethod
    def _duration(cls, value: str | int | float | None) -> str | int | float | None:
        if value is None:
            return None
        found = durations.seconds(value)
        if found is None or found <= 0:
            raise ValueError(f"expect_every must be a positive duration: {durations.EXAMPLES}")
        return value


class EntityConfig(Defaults):
    """One entity of a flow."""

    name: str
    source: str | None = Field(None, description="what the home reads: a path, glob, table or query name")
    query: str | None = Field(None, description="a SQL query to read instead of a table (database homes)")
    target: str | None = Field(None, description="the name in the store; defaults to the entity name")
    enabled: bool = True
    tags: list[str] = Field(default_factory=list, description="labels for `hygge go --select tag:NAME`")


class FlowConfig(Strict):
    home: dict[str, Any]
    store: dict[str, Any]
    run_type: RunType | None = None
    entities: Literal["*"] | list[str | EntityConfig] = "*"
    include: list[str] = Field(default_factory=list, description="with entities '*': keep only names matching")
    exclude: list[str] = Field(default_factory=list, description="with entities '*': leave out names matching")
    defaults: Defaults = Field(default_factory=Defaults)
    enabled: bool = True
    description: str | None = None
    tags: list[str] = Field(default_factory=list, description="labels every entity of the flow carries too")


class ProjectConfig(Strict):
    name: str
    flows_dir: str = "flows"
    options: Options = Field(default_factory=Options)
    defaults: Defaults = Field(default_factory=Defaults)
    connections: dict[str, dict[str, Any]] = Field(default_factory=dict)
    flows: dict[str, FlowConfig] = Field(default_factory=dict)
