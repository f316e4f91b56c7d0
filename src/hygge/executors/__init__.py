"""Where Moves run: threads (default), inline (debugging) or a Dask cluster."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from hygge.core.config import Options


class InlineExecutor(Executor):
    """Runs each task at submit time, in the caller's thread: tracebacks and debuggers just work."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - delivered through the future; Ctrl-C is not
            future.set_exception(exc)
        return future


def make_executor(options: Options) -> Executor:
    if options.executor == "inline":
        return InlineExecutor()
    if options.executor == "dask":
        from hygge.executors.dask import dask_executor

        return dask_executor(options)
    return ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="hygge-move")
