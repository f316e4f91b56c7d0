"""Where hygge's time goes, lane by lane: start-up, planning, reading alone, the whole move, the commit.

    .venv/bin/python benchmarks/stages.py --rows 1m [--lanes pq2pq,pg2pq]

Run `benchmarks/run.py` for the same sizes first: it prepares the sources and writes the hygge project of
every lane (benchmarks/_work/projects/<lane>_<size>/hygge). This script runs those projects in-process and
splits each move into stages:

- **start-up**: `python -c "import hygge.cli"` in a fresh interpreter (what every `hygge go` pays first);
- **plan**: loading the workspace and planning, until the move has opened its home and landing;
- **read alone**: the home's batches drained and dropped (read + decode + type conversion, nothing written);
- **stream**: from the move's start to its last batch written (reading and writing overlap on two threads);
- **commit**: from the last batch to the end (flush, fsync, publish, journal).

Writing alone is not measured apart: the move's stream time over the read-alone time says how much of the
writer is hidden behind the reader. Results are printed as a markdown table (median of --runs).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the harness lives beside this file
from harness.lanes import LANES as ALL_LANES
from harness.settings import WORK
from harness.targets import Target, drop, reset, target_for

PROJECTS = WORK / "projects"
# One entity per project: the lanes with one size whatever --rows says (small tables, floor) are left out.
LANES = [lane.key for lane in ALL_LANES if not lane.fixed_size]
FIXED_SIZES = {lane.key: lane.fixed_size for lane in ALL_LANES}


def startup_seconds(runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import hygge.cli"], check=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def read_alone(project: Path) -> tuple[float, int]:
    """Drain the home of the project's one entity: the cost of reading with nothing to write."""
    from hygge.core.planner import open_home, plan
    from hygge.core.workspace import load_workspace

    began = time.perf_counter()
    ws = load_workspace(project)
    (the_plan,), _ = plan(ws)
    source = open_home(Path(the_plan.root), the_plan.home, the_plan.connections).open(the_plan, None)
    rows = 0
    try:
        for batch in source.batches():
            rows += batch.num_rows
    finally:
        source.close()
    return time.perf_counter() - began, rows


def one_move(project: Path, target: Target) -> dict[str, float]:
    """The whole move in-process, split at its events."""
    import hygge

    marks: dict[str, float] = {}

    def on_event(event: Any) -> None:
        now = time.perf_counter()
        kind = getattr(event, "kind", None)
        if kind == "start":
            marks.setdefault("start", now)
        elif kind == "progress":
            marks["last_batch"] = now
        elif kind == "done":
            marks["done"] = now

    _clean(project)
    reset(target)
    began = time.perf_counter()
    result = hygge.run(project, on_event=on_event)
    ended = time.perf_counter()
    if not result.ok:
        raise SystemExit(f"{project}: the move failed: {result.moves[0].error}")
    start = marks.get("start", began)
    last = marks.get("last_batch", start)
    return {"plan": start - began, "stream": last - start, "commit": ended - last, "total": ended - began}


def _clean(project: Path) -> None:
    """Each run starts from an empty target, as in run.py: a full_drop, and no journal left behind."""
    shutil.rmtree(project / ".hygge", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="1m")
    parser.add_argument("--lanes", default=",".join(LANES))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"start-up (import hygge.cli): {startup_seconds(args.runs):.2f} s\n")
    print("| lane | rows | read alone s | plan s | stream s | commit s | move s (in-process) | stream ÷ read |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for lane in args.lanes.split(","):
        size = FIXED_SIZES.get(lane) or args.rows
        project = PROJECTS / f"{lane}_{size}" / "hygge"
        if not (project / "hygge.yml").exists():
            print(f"| {lane} | not prepared: run benchmarks/run.py --rows {args.rows} --lanes {lane} first |")
            continue
        store = json.loads((project / "hygge.yml").read_text())["flows"]["bench"]["store"]["type"]
        target = target_for(store, f"{lane}_{size}", "hygge")
        reads = [read_alone(project) for _ in range(args.runs)]
        try:
            moves = [one_move(project, target) for _ in range(args.runs)]
        finally:
            drop(target)
        read = statistics.median(r[0] for r in reads)
        stages = {k: statistics.median(m[k] for m in moves) for k in moves[0]}
        print(f"| {lane} | {reads[0][1]:,} | {read:.2f} | {stages['plan']:.2f} | {stages['stream']:.2f} | "
              f"{stages['commit']:.2f} | {stages['total']:.2f} | {stages['stream'] / read:.2f} |", flush=True)


if __name__ == "__main__":
    main()
