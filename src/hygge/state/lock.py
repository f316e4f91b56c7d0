"""One writer per entity: an advisory file lock that dies with its process.

``flock`` is released by the kernel when the holder exits, however it exits,
so a lock left by a killed run is never stale. The lock file's text only
tells the next run who holds it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from hygge.errors import StateError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class EntityLock:
    def __init__(self, path: Path, entity: str, run_id: str):
        self.path = path
        self.entity = entity
        self.run_id = run_id
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0) -> EntityLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait
        while True:
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self._holder(fd)
                    os.close(fd)
                    raise StateError(
                        "another hygge run is writing this entity right now",
                        entity=self.entity,
                        path=str(self.path),
                        expected="no other run on the same entity",
                        found=holder,
                        hint="wait for it to finish, or set `options: lock_wait: SECONDS` to queue behind it",
                    ) from None
                time.sleep(min(0.2, max(0.01, deadline - time.monotonic())))
        info = {"run_id": self.run_id, "pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            info: dict[str, Any] = json.loads(os.pread(fd, 4096, 0) or b"{}")
        except (OSError, ValueError):
            return "a run that did not say who it is"
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("since", 0)))
        return f"run {info.get('run_id')} (pid {info.get('pid')} on {info.get('host')}, since {since})"

    def release(self) -> None:
        if self._fd is not None:
            try:
                if fcntl is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
