"""Named points where the fault-injection tests kill or pause the process.

Set ``HYGGE_KILL_AT=name`` (optionally ``name:N`` for the N-th time the point
is reached) and the process sends itself SIGKILL there: no cleanup, no
``finally``, exactly like a power cut or the OOM killer. ``HYGGE_PAUSE_AT=
name:N:SECONDS`` sleeps there instead, so a test can change the world at a
known moment; with ``HYGGE_PAUSE_UNTIL=<file>`` too, the pause ends when that
file exists (SECONDS is then a bound), so a slow machine cannot end it early,
and the pausing process says it is there with ``<file>.paused-<pid>``.
The guarantee tests loop over every point; production runs never set these.
"""

from __future__ import annotations

import os
import signal
import threading
import time

POINTS = (
    "read",  # a batch was read from the Home
    "write",  # a batch was written to staging
    "snapshot",  # a snapshot was exported for a table's readers, none has joined it yet (db/physical.py)
    "download",  # a chunk of an object was written to a local file (a parquet file taken whole from a bucket)
    "partition-staged",  # a partition's parts are complete, its result not yet handed back (Dask: still on the worker)
    "before-publish",  # staged data complete, manifest or staging table ready
    "publish-gap",  # fallback publish: old version moved aside, new one not yet in place
    "after-publish",  # data published, cleanup of the old version not done
    "state",  # inside the database transaction that publishes data and state
    "rename",  # MySQL: rows and state committed, the RENAME that publishes the staged rows not yet done
)

_lock = threading.Lock()
_counts: dict[str, int] = {}


def _reached(variable: str, name: str) -> list[str] | None:
    spec = os.environ.get(variable)
    if not spec:
        return None
    parts = spec.split(":")
    if parts[0] != name:
        return None
    with _lock:
        key = f"{variable}:{name}"
        _counts[key] = _counts.get(key, 0) + 1
        return parts if _counts[key] == int(parts[1] if len(parts) > 1 and parts[1] else 1) else None


def point(name: str) -> None:
    if _reached("HYGGE_KILL_AT", name):
        os.kill(os.getpid(), signal.SIGKILL)
    pause = _reached("HYGGE_PAUSE_AT", name)
    if pause:
        seconds = float(pause[2]) if len(pause) > 2 else 1.0
        release = os.environ.get("HYGGE_PAUSE_UNTIL")
        if not release:
            time.sleep(seconds)
            return
        # Until the test has done what it paused the run for (it creates the file), however slow the machine;
        # SECONDS is then only a bound, so a test that fails before releasing it does not hang.
        deadline = time.monotonic() + seconds
        with open(f"{release}.paused-{os.getpid()}", "w"):
            pass
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.02)
