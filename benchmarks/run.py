"""hygge's benchmark suite: one command times hygge, the raw-library paths and the peer tools, lane by lane.

    .venv/bin/python benchmarks/run.py --rows 1m,10m --runs 3

Data is generated on first use (benchmarks/data), peer tools are installed on first use (benchmarks/_work/peers,
via benchmarks/peers/setup.sh), and the results go to benchmarks/RESULTS.md and benchmarks/results.json.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness import buckets, machine, report
from harness import lanes as lane_table
from harness.bench import LaneRun, Limits
from harness.lanes import TOOLS, Lane
from harness.settings import BENCH, HYGGE_PYTHON, PEERS, REPO, parse_rows, rows_label

SETUP = BENCH / "peers" / "setup.sh"


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="1m", help="comma list of sizes: 1m, 10m, 100m (also e.g. 100k)")
    parser.add_argument("--lanes", default="all",
                        help=f"comma list of lanes or 'all': {', '.join(lane.key for lane in lane_table.LANES)}")
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"comma list of contenders: {', '.join(TOOLS)}")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per contender (the median is reported)")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md", help="markdown report; results.json beside")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before one run is killed")
    parser.add_argument("--budget", type=float, default=600,
                        help="seconds one contender may spend on one lane and size; slower ones run fewer times")
    parser.add_argument("--merge", action="store_true",
                        help="keep the lanes and sizes of an earlier results.json that this run does not measure")
    parser.add_argument("--keep", action="store_true", help="leave the targets in place after each lane")
    args = parser.parse_args(argv)
    args.sizes = [parse_rows(x) for x in args.rows.split(",") if x.strip()]
    args.tool_list = tuple(t.strip() for t in args.tools.split(",") if t.strip())
    unknown = set(args.tool_list) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tool(s) {', '.join(sorted(unknown))}; choose from {', '.join(TOOLS)}")
    return args


# The components of peers/setup.sh each contender needs (in the order they must be built).
COMPONENTS = {"raw": ("raw", "rawextra", "scanners"), "dlt": ("dlt", "dltlake"), "ingestr": ("ingestr",),
              "sling": ("sling",)}


def ensure_installed(tools: tuple[str, ...], lanes: list[Lane]) -> None:
    """Run the setup script for the environments still missing; its failures become 'not available' later."""
    wanted = [c for tool in TOOLS if tool in tools for c in COMPONENTS.get(tool, ())]
    if any("s3" in lane.servers for lane in lanes):
        wanted.append("seaweedfs")  # the bucket lanes' S3 server
    missing = [c for c in wanted if not (PEERS / f"{c}.ok").exists()]
    if missing:
        print(f"setting up {', '.join(missing)} in {PEERS} (first use)", flush=True)
        subprocess.run(["bash", str(SETUP), str(PEERS), *missing], check=False)


def compile_hygge() -> None:
    """Write hygge's bytecode once, as installing a wheel does: with PYTHONDONTWRITEBYTECODE set (or a read-only
    checkout) an editable install would otherwise compile every module again in each timed run (~0.04 s)."""
    if not HYGGE_PYTHON.exists():
        return
    subprocess.run([str(HYGGE_PYTHON), "-m", "compileall", "-q", str(REPO / "src" / "hygge")],
                   check=False, capture_output=True)


def plan(lanes: list[Lane], sizes: list[int]) -> list[tuple[Lane, int]]:
    """Every lane at every size; the fixed-size lanes once, at the end."""
    return [(lane, rows) for rows in sizes for lane in lanes if not lane.fixed_size] + \
        [(lane, sizes[0]) for lane in lanes if lane.fixed_size]


def merged(previous: Path, fresh: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not previous.exists():
        return fresh
    measured = {(lane["lane"], lane["size"]) for lane in fresh}
    kept = [lane for lane in json.loads(previous.read_text())["lanes"] if (lane["lane"], lane["size"]) not in measured]
    order = {lane.key: i for i, lane in enumerate(lane_table.LANES)}
    fixed = {lane.fixed_size for lane in lane_table.LANES if lane.fixed_size}

    def position(lane: dict[str, Any]) -> tuple[bool, int, int]:
        sized = lane["size"] not in fixed
        return not sized, parse_rows(lane["size"]) if sized else 0, order.get(lane["lane"], len(order))

    return sorted(kept + fresh, key=position)


def command_line() -> str:
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(REPO) if script.is_relative_to(REPO) else script
    return shlex.join([".venv/bin/python", str(shown), *sys.argv[1:]])


def previous_commands(json_path: Path, merge: bool) -> list[str]:
    if not (merge and json_path.exists()):
        return []
    settings = json.loads(json_path.read_text())["settings"]
    return settings.get("commands", [settings.get("command", "")])


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    lanes = lane_table.select(args.lanes)
    ensure_installed((*args.tool_list, "raw"), lanes)  # the raw venv also generates the data (numpy)
    compile_hygge()
    json_path = args.out.with_name("results.json")
    data: dict[str, Any] = {
        "settings": {"commands": [*previous_commands(json_path, args.merge), command_line()],
                     "rows": [rows_label(n) for n in args.sizes], "runs": args.runs,
                     "lanes": [lane.key for lane in lanes], "tools": list(args.tool_list)},
        "machine": machine.describe(),
        "lanes": [],
    }
    limits = Limits(runs=args.runs, timeout=args.timeout, budget=args.budget, keep=args.keep)
    fresh: list[dict[str, Any]] = []
    planned = plan(lanes, args.sizes)
    for index, (lane, rows) in enumerate(planned):
        fresh.append(LaneRun(lane, rows, limits).run(lane.contenders(args.tool_list)))
        data["lanes"] = merged(json_path, fresh) if args.merge else fresh
        report.write(data, args.out, json_path)
        if not any("s3" in later.servers for later, _ in planned[index + 1:]):
            buckets.stop()  # an idle S3 server would still take a little CPU during the lanes that follow
    print(f"wrote {args.out} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
