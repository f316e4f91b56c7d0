"""One writer per entity: an advisory file lock that dies with its process.

``flock`` is released by the kernel when the holder exits, however it exits,
so a lock left by a killed run is never stale. The lock file's text tells the
next run who holds it, and is emptied when the holder lets go: text found by
the one who takes the lock next (``previous``) was left by a holder that never
let go, a run that was killed while it held the entity.
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
    def __init__(self, path: Path, entity: str, run_id: str, about: dict[str, Any] | None = None):
        self.path = path
        self.entity = entity
        self.run_id = run_id
        self.about = about  # the holder's run record, for the next holder should this one never let go
        self.previous: dict[str, Any] | None = None
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
        self.previous = self._text(fd)
        info = {"run_id": self.run_id, "pid": os.getpid(), "host": socket.gethostname(), "since": time.time(),
                **({"record": self.about} if self.about is not None else {})}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    @staticmethod
    def _text(fd: int) -> dict[str, Any] | None:
        try:
            found = json.loads(os.pread(fd, os.fstat(fd).st_size, 0) or b"null")
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    @classmethod
    def _holder(cls, fd: int) -> str:
        info = cls._text(fd)
        if info is None:
            return "a run that did not say who it is"
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("since", 0)))
        return f"run {info.get('run_id')} (pid {info.get('pid')} on {info.get('host')}, since {since})"

    def release(self) -> None:
        if self._fd is not None:
            try:
                try:
                    os.ftruncate(self._fd, 0)  # let go on purpose: the next holder finds nothing to report
                except OSError:
                    pass
                if fcntl is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
