"""Helpers shared by the tests: projects in temp folders, the real CLI in a subprocess, table comparison."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]


def write_project(root: Path, project_yml: str, flows: dict[str, str] | None = None,
                  files: dict[str, str] | None = None) -> Path:
    """A workspace: hygge.yml, flows/<name>/flow.yml, and any other text files (paths relative to root)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "hygge.yml").write_text(textwrap.dedent(project_yml), encoding="utf-8")
    for name, text in (flows or {}).items():
        path = root / "flows" / name / "flow.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    for rel, text in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def run_hygge(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180,
              check: int | None = None, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real `hygge` command in its own process, as a user would run it."""
    full_env = {**os.environ, "COLUMNS": "200"}
    full_env.pop("HYGGE_KILL_AT", None)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "hygge", *args], cwd=cwd, env=full_env, text=True,
                          capture_output=True, timeout=timeout, input=input_text)
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def run_here(*args: str, cwd: Path, check: int | None = None,
             input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """`hygge ARGS` run by this process (click's CliRunner) from ``cwd``, answered like ``run_hygge``.

    For the runs of a test that are not its point (setting a target up, a rerun, reading history): a process of
    their own costs about 0.7 s of CPU to start, most of the suite's time. What needs a real process (a kill, a
    signal, a second writer, a terminal) uses ``run_hygge``."""
    from click.testing import CliRunner

    from hygge.cli import main

    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    here = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), input=input_text, env={"COLUMNS": "200", "HYGGE_KILL_AT": None})
    finally:
        os.chdir(here)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    proc = subprocess.CompletedProcess(["hygge", *args], result.exit_code, result.stdout, result.stderr)
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def read_target(folder: Path) -> pa.Table:
    """A parquet entity folder as readers see it: every visible part file, in order."""
    parts = sorted(p for p in folder.iterdir() if p.suffix == ".parquet" and not p.name.startswith((".", "_")))
    return pa.concat_tables([pq.read_table(p) for p in parts]) if parts else pa.table({})


def assert_same_rows(actual: pa.Table, expected: pa.Table, sort_by: str | None = None) -> None:
    """Equal row for row and type for type (column order included)."""
    if sort_by:
        actual = actual.sort_by(sort_by)
        expected = expected.sort_by(sort_by)
    assert actual.schema.remove_metadata() == expected.schema.remove_metadata(), (
        f"schemas differ:\n{actual.schema}\n---\n{expected.schema}")
    assert actual.num_rows == expected.num_rows
    assert actual.combine_chunks().equals(expected.combine_chunks()), "values differ"


def staging_debris(store: Path) -> list[Path]:
    staging = store / ".hygge" / "staging"
    return [p for p in staging.rglob("*")] if staging.exists() else []


class PeakWatch:
    """An `on_event` callback that records the most moves running at once."""

    def __init__(self) -> None:
        self.running = self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        with self._lock:
            if event.kind == "start":
                self.running += 1
                self.peak = max(self.peak, self.running)
            elif event.kind == "done":
                self.running -= 1


def go_paused_at(root: Path, point: str, args: tuple[str, ...] = ()) -> tuple[subprocess.Popen[str], Path]:
    """`hygge go --json ARGS` in its own process, held where fault ``point`` (``name:N``) is reached until the
    returned file exists (see core/faults.py); the caller creates it and reads the process's output."""
    release = root / "release"
    release.unlink(missing_ok=True)
    for old in root.glob("release.paused-*"):
        old.unlink()
    env = {k: v for k, v in os.environ.items() if k not in ("HYGGE_KILL_AT", "HYGGE_PAUSE_AT")}
    proc = subprocess.Popen([sys.executable, "-m", "hygge", "go", "--json", *args], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**env, "HYGGE_PAUSE_AT": f"{point}:120", "HYGGE_PAUSE_UNTIL": str(release)})
    deadline = time.monotonic() + 120
    while not list(root.glob("release.paused-*")):
        if proc.poll() is not None or time.monotonic() > deadline:
            out, err = proc.communicate(timeout=10) if proc.poll() is not None else ("", "")
            proc.kill()
            raise AssertionError(f"the run never reached {point}: {out} {err}")
        time.sleep(0.05)
    return proc, release
