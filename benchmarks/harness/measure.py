"""Run one contender as a whole process and measure it: wall time, peak RSS and CPU time of the child.

Peak RSS comes from os.wait4's rusage: ru_maxrss of the child, which the kernel folds together with the children it
waited for (as a maximum, not a sum). A tool that spawns helpers (sling runs the duckdb CLI) therefore reports its
largest process, not the sum of them."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    exit_code: int
    timed_out: bool


def run_process(argv: list[str], env: dict[str, str], log: Path, timeout: float) -> Measurement:
    """Start argv in its own session (so a timeout can kill the whole tree), wait for it with wait4."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        expired = threading.Event()
        timer = threading.Timer(timeout, _kill_group, (proc.pid, expired))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measurement(seconds=seconds, peak_rss_mb=usage.ru_maxrss / 1024, cpu_seconds=usage.ru_utime + usage.ru_stime,
                       exit_code=proc.returncode, timed_out=expired.is_set())


def _kill_group(pid: int, expired: threading.Event) -> None:
    expired.set()
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def log_tail(log: Path, lines: int = 6, width: int = 300) -> str:
    """The last meaningful lines of a log, flattened for a table cell or a JSON field."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-width:]
