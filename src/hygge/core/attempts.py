"""One move with its retries: transient failures are tried again after a doubling pause."""

from __future__ import annotations

from typing import Protocol

from hygge.core.move import run_move
from hygge.core.plan import MovePlan
from hygge.core.results import MoveResult
from hygge.core.split import Submit
from hygge.errors import StateMoved
from hygge.progress.events import Emit, Event


class CancelFlag(Protocol):
    """What a move checks to know it should stop: a threading.Event, or its distributed twin."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


# How often a move starts over because the entity's state moved while it prepared (StateMoved): each time another
# run committed in between, so only a crowd of runs queued on one entity gets this far.
RESTARTS = 5


def attempt_move(plan: MovePlan, retries: int, backoff: float, emit: Emit, cancel: CancelFlag,
                 submit: Submit | None = None) -> MoveResult:
    attempt = restarts = 0
    while True:
        result = run_move(plan, emit, cancel, submit)  # type: ignore[arg-type]
        result.attempts = attempt + restarts + 1
        if isinstance(result.error, StateMoved) and restarts < RESTARTS and not cancel.is_set():
            restarts += 1
            continue
        transient = result.error is not None and result.error.transient
        if result.ok or not transient or attempt >= retries or cancel.is_set():
            return result
        delay = backoff * 2**attempt
        emit(Event("retry", plan.flow, plan.entity,
                   detail={"attempt": attempt + 1, "delay": delay, "error": str(result.error)}))
        if cancel.wait(delay):
            return result
        attempt += 1
