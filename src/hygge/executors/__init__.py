"""Where Moves run: threads (default), inline (debugging) or a Dask cluster.

A Runner takes plans and hands back futures of MoveResults; the Coordinator
does not care where the moves ran.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from hygge.core.attempts import attempt_move
from hygge.core.config import Options
from hygge.core.plan import MovePlan
from hygge.core.results import MoveResult
from hygge.progress.events import Emit


class InlineExecutor(Executor):
    """Runs each task at submit time, in the caller's thread: tracebacks and debuggers just work."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - delivered through the future; Ctrl-C is not
            future.set_exception(exc)
        return future


class Runner:
    """Moves on a local executor (a thread pool, or inline)."""

    remote = False

    def __init__(self, options: Options, executor: Executor | None = None):
        self.options = options
        self.executor = executor or (InlineExecutor() if options.executor == "inline" else
                                     ThreadPoolExecutor(max_workers=options.concurrency,
                                                        thread_name_prefix="hygge-move"))
        self.owned = executor is None
        self._lock = threading.Lock()
        self._part_pools: dict[int, ThreadPoolExecutor] = {}

    def start(self, emit: Emit, cancel: threading.Event) -> None:
        self.emit, self.cancel = emit, cancel

    def submit(self, plan: MovePlan) -> Future[MoveResult]:
        return self.executor.submit(attempt_move, plan, self.options.retries, self.options.retry_backoff,
                                    self.emit, self.cancel, self._part_submit(plan))

    def _part_submit(self, plan: MovePlan) -> Callable[..., Future[Any]] | None:
        """A partitioned entity gets a pool of its own: each partition read and staged by its own writer."""
        from hygge.core.registry import home_class, store_class
        from hygge.homes.file_source import partition_limit

        field = home_class(str(plan.home["type"])).Config.model_fields.get("partitions")
        partitions = partition_limit(plan.home.get("partitions", field.default if field else 1))
        if partitions < 2 or isinstance(self.executor, InlineExecutor):
            return None
        if not store_class(str(plan.store["type"])).local_parts:
            return None
        with self._lock:
            pool = self._part_pools.get(partitions)
            if pool is None:
                pool = self._part_pools[partitions] = ThreadPoolExecutor(
                    max_workers=partitions, thread_name_prefix="hygge-part")
        return pool.submit

    def stop(self) -> None:
        """Ask running moves to stop (fail-fast, Ctrl-C)."""
        self.cancel.set()

    def explain(self, exc: BaseException, plan: MovePlan) -> Any:
        from hygge.core.move import as_hygge_error

        return as_hygge_error(exc, plan)

    def close(self) -> None:
        for pool in self._part_pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
        if self.owned:
            self.executor.shutdown(wait=True, cancel_futures=True)


def make_runner(options: Options, executor: Executor | None = None) -> Runner:
    if options.executor == "dask" and executor is None:
        from hygge.executors.dask import DaskRunner

        return DaskRunner(options)
    return Runner(options, executor)
