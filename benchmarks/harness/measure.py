"""Run one contender as a whole process and measure it: wall time, peak RSS and CPU time of the child.

The command runs under harness/spawn.py, a bare-interpreter launcher that spawns it, waits for it with os.wait4 and
reports the child's rusage: ru_maxrss is the peak RSS of the command, folded (as a maximum, not a sum) with the
children it waited for, so a tool that spawns helpers (sling runs the duckdb CLI) reports its largest process.
The launcher exists because a process spawned from this runner would inherit the runner's own peak as its floor."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SPAWN = Path(__file__).with_name("spawn.py")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    exit_code: int
    timed_out: bool


def run_process(argv: list[str], env: dict[str, str], log: Path, timeout: float) -> Measurement:
    """Run argv through the launcher in its own session (so a timeout kills the whole tree)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, log.open("wb") as out:
        result = Path(tmp) / "result.json"
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-I", "-S", str(SPAWN), str(result), *argv],
                                env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        expired = threading.Event()
        timer = threading.Timer(timeout, _kill_group, (proc.pid, expired))
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        elapsed = time.perf_counter() - start
        if expired.is_set() or not result.exists():
            return Measurement(elapsed, 0.0, 0.0, proc.returncode, expired.is_set())
        measured = json.loads(result.read_text())
    return Measurement(measured["seconds"], measured["peak_rss_mb"], measured["cpu_seconds"], measured["exit_code"],
                       timed_out=False)


def _kill_group(pid: int, expired: threading.Event) -> None:
    expired.set()
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def log_tail(log: Path, lines: int = 6, width: int = 400) -> str:
    """The last meaningful whole lines of a log (at most `lines` of them, about `width` characters), flattened for a
    table cell or a JSON field."""
    try:
        text = ANSI.sub("", log.read_text(errors="replace"))
    except OSError:
        return ""
    kept: list[str] = []
    for line in reversed([line.strip() for line in text.splitlines() if line.strip().strip("^~ ")]):
        if kept and (len(kept) == lines or sum(map(len, kept)) + len(line) > width):
            break
        kept.insert(0, line[-width:])
    return " | ".join(kept)
