"""Moves on a Dask cluster: an existing scheduler, or a local cluster of worker processes.

A plan is plain data, so it pickles to a worker, which opens its own
connections and runs the move there. Progress travels back as Dask "events"
(``log_event`` on the worker, ``subscribe_topic`` here); results and errors,
with their full messages, come back with the task. Stopping (fail-fast,
Ctrl-C) is a distributed Event every running move polls.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from hygge.core.attempts import attempt_move
from hygge.core.config import Options
from hygge.core.plan import MovePlan
from hygge.core.results import MoveResult
from hygge.core.split import ClusterSubmit, cluster_error
from hygge.errors import HyggeConnectionError, HyggeError, MissingDriver
from hygge.executors import Runner
from hygge.progress.events import Emit, Event


def _distributed() -> Any:
    try:
        import distributed
    except ModuleNotFoundError as exc:
        raise MissingDriver("distributed", "dask", needed_for="the dask executor") from exc
    return distributed


def _refused(address: str) -> None:
    """Raise at once when nothing listens at a tcp:// scheduler address (distributed would retry for 15 s).

    Only a refusal counts: a host that does not answer, or any other address form, is left to distributed's own
    connect, which waits for a scheduler still starting."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp" or not parts.hostname or not parts.port:
        return
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=2):
            return
    except ConnectionRefusedError as exc:
        raise OSError(f"nothing listens at {parts.hostname}:{parts.port} (connection refused)") from exc
    except OSError:
        return


class DaskCancel:
    """The run's stop flag, shared through the scheduler; polled at most once a second."""

    def __init__(self, name: str):
        # Made on the worker's task thread, where a client exists; the move's reader threads only ask it.
        self.event = _distributed().Event(name)
        self._seen = False
        self._checked = 0.0
        self._failures = 0
        self._lock = threading.Lock()

    def is_set(self) -> bool:
        if self._seen:
            return True
        with self._lock:
            now = time.monotonic()
            if now - self._checked < 1.0:
                return self._seen
            self._checked = now
            try:
                self._seen = bool(self.event.is_set())
                self._failures = 0
            except Exception:  # noqa: BLE001 - a scheduler that stays silent means the run is over
                self._failures += 1
                self._seen = self._failures >= 3
        return self._seen

    def wait(self, timeout: float | None = None) -> bool:
        deadline = time.monotonic() + (timeout or 0.0)
        while time.monotonic() < deadline:
            if self.is_set():
                return True
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        return self.is_set()

    def set(self) -> None:
        self._seen = True


def event_message(event: Event) -> dict[str, Any]:
    detail = {k: v for k, v in event.detail.items() if isinstance(v, (str, int, float, bool, type(None)))}
    return {"kind": event.kind, "flow": event.flow, "entity": event.entity, "at": event.at, "rows": event.rows,
            "bytes": event.bytes, "total_rows": event.total_rows, "detail": detail}


def remote_move(plan: MovePlan, retries: int, backoff: float, run_key: str) -> MoveResult:
    """What a worker runs: the move, its retries, progress sent back, the run's stop flag honoured."""
    worker = _distributed().get_worker()
    last: dict[str, float] = {}

    def emit(event: Event) -> None:
        if event.kind == "done":
            return  # told by the coordinator, with the whole result
        now = time.monotonic()
        if event.kind == "progress" and now - last.get(event.key, 0.0) < 0.5:
            return  # progress at most twice a second: the scheduler carries every message
        last[event.key] = now
        worker.log_event(f"hygge-{run_key}", event_message(event))

    again = _ran_before(run_key, plan, worker.address)  # asked first: an attempt that dies says nothing after
    result = attempt_move(plan, retries, backoff, emit, DaskCancel(f"hygge-stop-{run_key}"))
    if again:
        result.warnings.append("a Dask worker running this move stopped before it ended (its process died or was "
                               "lost); Dask ran the move again on another worker, and what the first attempt "
                               "staged was rolled back")
    return result


def _ran_before(run_key: str, plan: MovePlan, here: str) -> bool:
    """Whether another worker started this move of this run before: Dask runs a task again when the worker
    running it dies, and says nothing about it."""
    distributed = _distributed()
    try:
        started = distributed.Variable(f"hygge-{run_key}-{plan.key}")
        before = _value(started)
        started.set(here)
    except Exception:  # noqa: BLE001 - a scheduler that does not answer cannot tell; the move stands
        return False
    return before is not None and before != here


def _value(variable: Any) -> Any:
    try:
        return variable.get(timeout=0.1)
    except Exception:  # noqa: BLE001 - no value yet: distributed raises a timeout
        return None


class DaskRunner(Runner):
    remote = True

    def __init__(self, options: Options):
        distributed = _distributed()
        # Dask logs lost connections with tracebacks; hygge reports them itself, in plain words.
        for name in [*logging.root.manager.loggerDict, "distributed", "tornado", "asyncio"]:
            if name.split(".")[0] in ("distributed", "tornado", "asyncio"):
                logging.getLogger(name).setLevel(logging.CRITICAL)
        self.options = options
        self.run_key = uuid.uuid4().hex[:12]
        self.cluster = None
        try:
            if options.scheduler:
                _refused(options.scheduler)
                self.client = distributed.Client(options.scheduler, timeout="15s")
            else:
                # The scheduler serves HTTP whatever the dashboard setting; on port 0 it takes a free one
                # instead of warning that 8787 is taken (by another cluster, or a notebook's).
                self.cluster = distributed.LocalCluster(n_workers=options.workers or 2, threads_per_worker=1,
                                                        processes=True, dashboard_address=":0")
                self.client = distributed.Client(self.cluster)
        except OSError as exc:
            raise HyggeConnectionError(
                f"cannot reach the Dask scheduler at {options.scheduler}", found=str(exc),
                hint="start it with `dask scheduler` (and workers with `dask worker ADDRESS`), "
                     "or check the address") from exc
        self.owned = True
        self.executor = self.client.get_executor(pure=False)
        self.local = ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="hygge-split")

    def start(self, emit: Emit, cancel: threading.Event) -> None:
        self.emit, self.cancel = emit, cancel
        self.client.subscribe_topic(f"hygge-{self.run_key}", self._relay)

    def _not_done(self, event: Event) -> None:
        if event.kind != "done":  # the coordinator tells the end of every move run through this runner
            self.emit(event)

    def _relay(self, item: tuple[float, dict[str, Any]]) -> None:
        message = dict(item[1])
        message.pop("worker", None)
        self.emit(Event(**message))

    def submit(self, plan: MovePlan) -> Future[MoveResult]:
        if plan.home.get("partitions", 1) not in (1, "auto"):
            # A big entity: this process holds its landing, the workers read and stage its partitions. ("auto"
            # means this machine's cores; across a cluster the number is the person's to choose.)
            return self.local.submit(attempt_move, plan, self.options.retries, self.options.retry_backoff,
                                     self._not_done, self.cancel, ClusterSubmit(self.executor.submit, self.client))
        return self.executor.submit(remote_move, plan, self.options.retries, self.options.retry_backoff,
                                    self.run_key)

    def stop(self) -> None:
        self.cancel.set()
        try:
            _distributed().Event(f"hygge-stop-{self.run_key}", client=self.client).set()
        except Exception:  # noqa: BLE001 - a lost scheduler stops everything anyway
            pass

    def explain(self, exc: BaseException, plan: MovePlan) -> HyggeError:
        return cluster_error(exc, plan) or super().explain(exc, plan)

    def close(self) -> None:
        try:
            self.local.shutdown(wait=True, cancel_futures=True)
            self.client.unsubscribe_topic(f"hygge-{self.run_key}")
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
