"""Moves load their Home and Store classes on threads of their own. pyiceberg's modules import each other in a
cycle (strictyaml among them): loaded on two threads at once, a move failed with "cannot import name 'utils'
from partially initialized module 'strictyaml'" (seen in the bucket pair test). The registry loads classes one
thread at a time, and the iceberg modules import pyiceberg's parts while it does."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_the_iceberg_home_and_store_load_on_many_threads_at_once_in_a_fresh_process() -> None:
    script = textwrap.dedent("""\
        import threading
        from hygge.core import registry

        start, errors = threading.Barrier(8), []

        def load(kind):
            start.wait()
            try:
                registry.load(kind, "iceberg")
                from pyiceberg.catalog.sql import SqlCatalog  # what a move imports next
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=load, args=("home" if i % 2 else "store",)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(errors)
        """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout
