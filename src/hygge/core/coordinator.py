"""Plans become Moves on an executor: a global concurrency limit, retries, fail-fast, Ctrl-C and SIGTERM."""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait

from hygge.core import signals
from hygge.core.config import Options
from hygge.core.plan import MovePlan
from hygge.core.planner import PlanFailure
from hygge.core.results import MoveResult, RunResult
from hygge.errors import Cancelled
from hygge.executors import Runner, make_runner
from hygge.progress.events import Emit, Event, ignore


class Coordinator:
    def __init__(self, options: Options, emit: Emit = ignore, executor: Executor | None = None):
        self.options = options
        self.emit = emit
        self.executor = executor
        self.cancel = threading.Event()
        # The last result each move told, for a move whose future never came back: one stopped by a signal
        # while it ran inline, in this thread.
        self.told: dict[str, MoveResult] = {}

    def _emit(self, event: Event) -> None:
        if event.kind == "done":
            self.told[event.key] = event.detail["result"]
        self.emit(event)

    def run(self, project: str, plans: list[MovePlan], failures: list[PlanFailure] | None = None) -> RunResult:
        clock = time.perf_counter()
        run = RunResult(project)
        self.told = {}
        results: dict[str, MoveResult] = {}
        for failure in failures or []:
            results[f"{failure.flow}.{failure.entity}"] = MoveResult(
                flow=failure.flow, entity=failure.entity, status="failed", error=failure.error, started=False)
        self.emit(Event("plan", detail={"plans": plans, "failures": failures or []}))
        if failures and self.options.fail_fast:
            plans = []
        pending: dict[Future[MoveResult], MovePlan] = {}
        runner = make_runner(self.options, self.executor) if plans else None
        try:
            if runner is not None:
                runner.start(self._emit, self.cancel)
            for plan in plans:
                assert runner is not None
                pending[runner.submit(plan)] = plan
            while pending:
                done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    plan = pending.pop(future)
                    results[plan.key] = self._collect(future, plan, runner)
                    if not results[plan.key].ok and self.options.fail_fast and runner is not None:
                        runner.stop()
        except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM through core/signals.py
            run.interrupted, run.signum = True, signals.signum_of(stop)
            if runner is not None:
                runner.stop()
            for future in pending:
                future.cancel()
            # Running moves see the stop, roll back what they have not committed, and report.
            for future, plan in pending.items():
                if not future.cancelled():
                    results[plan.key] = self._collect(future, plan, runner)
        finally:
            if runner is not None:
                runner.close()
        for plan in plans:
            if plan.key not in results:
                results[plan.key] = self.told.get(plan.key) or MoveResult(
                    flow=plan.flow, entity=plan.entity, run_type=plan.run_type, status="cancelled", started=False,
                    error=Cancelled("not started: the run was stopped", flow=plan.flow, entity=plan.entity))
        order = [f"{f.flow}.{f.entity}" for f in failures or []] + [p.key for p in plans]
        run.moves = [results[key] for key in order if key in results]
        run.seconds = time.perf_counter() - clock
        self._emit(Event("run-end", detail={"result": run}))
        return run

    def _collect(self, future: Future[MoveResult], plan: MovePlan, runner: Runner | None) -> MoveResult:
        try:
            result = future.result()
        except BaseException as exc:  # noqa: BLE001 - an executor failure is still one entity's result
            from hygge.core.move import as_hygge_error

            result = MoveResult(flow=plan.flow, entity=plan.entity, run_type=plan.run_type, status="failed",
                                error=runner.explain(exc, plan) if runner else as_hygge_error(exc, plan))
        if runner is not None and runner.remote:
            # Moves that ran elsewhere told their progress through the cluster; the end is told here.
            self._emit(Event("done", plan.flow, plan.entity, rows=result.rows_written, bytes=result.bytes_written,
                             detail={"result": result}))
        return result
