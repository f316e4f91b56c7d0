"""Named points where the fault-injection tests kill the process.

Set ``HYGGE_KILL_AT=name`` (optionally ``name:N`` for the N-th time the point
is reached) and the process sends itself SIGKILL there: no cleanup, no
``finally``, exactly like a power cut or the OOM killer. The guarantee tests
loop over every point; production runs never set the variable.
"""

from __future__ import annotations

import os
import signal
import threading

POINTS = (
    "read",  # a batch was read from the Home
    "write",  # a batch was written to staging
    "before-publish",  # staged data complete, manifest or staging table ready
    "publish-gap",  # fallback publish: old version moved aside, new one not yet in place
    "after-publish",  # data published, cleanup of the old version not done
    "state",  # inside the database transaction that publishes data and state
)

_lock = threading.Lock()
_counts: dict[str, int] = {}


def _target() -> tuple[str, int] | None:
    spec = os.environ.get("HYGGE_KILL_AT")
    if not spec:
        return None
    name, _, nth = spec.partition(":")
    return name, int(nth or 1)


def point(name: str) -> None:
    target = _target()
    if target is None or target[0] != name:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        reached = _counts[name] >= target[1]
    if reached:
        os.kill(os.getpid(), signal.SIGKILL)
