"""Plans become Moves on an executor: a global concurrency limit, retries, fail-fast, Ctrl-C."""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait

from hygge.core.config import Options
from hygge.core.move import run_move
from hygge.core.plan import MovePlan
from hygge.core.planner import PlanFailure
from hygge.core.results import MoveResult, RunResult
from hygge.errors import Cancelled
from hygge.executors import make_executor
from hygge.progress.events import Emit, Event, ignore


class Coordinator:
    def __init__(self, options: Options, emit: Emit = ignore, executor: Executor | None = None):
        self.options = options
        self.emit = emit
        self.executor = executor
        self.cancel = threading.Event()

    def attempts(self, plan: MovePlan) -> MoveResult:
        """Run one move, retrying transient failures with exponential backoff."""
        attempt = 0
        while True:
            result = run_move(plan, self.emit, self.cancel)
            result.attempts = attempt + 1
            transient = result.error is not None and result.error.transient
            if result.ok or not transient or attempt >= self.options.retries or self.cancel.is_set():
                return result
            delay = self.options.retry_backoff * 2**attempt
            self.emit(Event("retry", plan.flow, plan.entity,
                            detail={"attempt": attempt + 1, "delay": delay, "error": str(result.error)}))
            if self.cancel.wait(delay):
                return result
            attempt += 1

    def run(self, project: str, plans: list[MovePlan], failures: list[PlanFailure] | None = None) -> RunResult:
        clock = time.perf_counter()
        run = RunResult(project)
        results: dict[str, MoveResult] = {}
        for failure in failures or []:
            results[f"{failure.flow}.{failure.entity}"] = MoveResult(
                flow=failure.flow, entity=failure.entity, status="failed", error=failure.error)
        self.emit(Event("plan", detail={"plans": plans, "failures": failures or []}))
        if failures and self.options.fail_fast:
            plans = []
        executor = self.executor or make_executor(self.options)
        owned = self.executor is None
        pending: dict[Future[MoveResult], MovePlan] = {}
        try:
            for plan in plans:
                pending[executor.submit(self.attempts, plan)] = plan
            while pending:
                done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    plan = pending.pop(future)
                    results[plan.key] = self._collect(future, plan)
                    if not results[plan.key].ok and self.options.fail_fast:
                        self.cancel.set()
        except KeyboardInterrupt:
            run.interrupted = True
            self.cancel.set()
            for future in pending:
                future.cancel()
            for future, plan in pending.items():
                if not future.cancelled():
                    results[plan.key] = self._collect(future, plan)
        finally:
            if owned:
                executor.shutdown(wait=True, cancel_futures=True)
        for plan in plans:
            results.setdefault(plan.key, MoveResult(
                flow=plan.flow, entity=plan.entity, run_type=plan.run_type, status="cancelled",
                error=Cancelled("not started: the run was stopped", flow=plan.flow, entity=plan.entity)))
        order = [f"{f.flow}.{f.entity}" for f in failures or []] + [p.key for p in plans]
        run.moves = [results[key] for key in order if key in results]
        run.seconds = time.perf_counter() - clock
        self.emit(Event("run-end", detail={"result": run}))
        return run

    def _collect(self, future: Future[MoveResult], plan: MovePlan) -> MoveResult:
        try:
            return future.result()
        except BaseException as exc:  # noqa: BLE001 - an executor failure is still one entity's result
            from hygge.core.move import as_hygge_error

            return MoveResult(flow=plan.flow, entity=plan.entity, run_type=plan.run_type, status="failed",
                              error=as_hygge_error(exc, plan))
