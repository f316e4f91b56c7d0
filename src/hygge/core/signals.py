"""Stopping on a signal: SIGTERM (what schedulers, containers and systemd send) is handled like Ctrl-C.

Python's default SIGTERM ends the process on the spot, like SIGKILL: no move rolls
back and nobody is told. The `hygge` command turns both signals into ``Stopped``, a
KeyboardInterrupt that says which signal it was, raised in the main thread: the
Coordinator stops the running moves (they roll back what is not committed) and the
command exits with 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

STOPPING = ("SIGINT", "SIGTERM")


class Stopped(KeyboardInterrupt):
    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def signum_of(stop: BaseException) -> int:
    """The signal a KeyboardInterrupt stands for (a bare one, as Python raises it, is Ctrl-C)."""
    return stop.signum if isinstance(stop, Stopped) else int(signal.SIGINT)


def name(signum: int | None) -> str:
    return signal.Signals(signum or signal.SIGINT).name


def exit_code(signum: int | None) -> int:
    """What a shell reports for a process ended by this signal (Ctrl-C when none is named)."""
    return 128 + (signum or signal.SIGINT)


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signum)


def stop_on_signals() -> None:
    """Make SIGINT and SIGTERM raise Stopped in the main thread (signal handlers can only be set there)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for each in STOPPING:
        if hasattr(signal, each):
            signal.signal(getattr(signal, each), _raise)
