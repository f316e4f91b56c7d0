"""RESULTS.md and results.json from the measurements: one table per lane and size, and a summary of hygge against
the best raw path and dlt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OK = "ok"


def best(results: list[dict[str, Any]], tool: str) -> dict[str, Any] | None:
    timed = [r for r in results if r["tool"] == tool and r["status"] == OK and "median_s" in r]
    return min(timed, key=lambda r: r["median_s"]) if timed else None


def annotate(lane: dict[str, Any]) -> None:
    """Ratios to the best raw path and to dlt: contender time ÷ their time (below 1 is faster than them)."""
    raw, dlt = best(lane["results"], "raw"), best(lane["results"], "dlt")
    for result in lane["results"]:
        if "median_s" in result:
            result["ratio_best_raw"] = result["median_s"] / raw["median_s"] if raw else None
            result["ratio_dlt"] = result["median_s"] / dlt["median_s"] if dlt else None


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _rate(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    return f"{value / 1e3:,.0f} k" if value >= 1e4 else f"{value:,.0f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def machine_table(machine: dict[str, Any]) -> list[str]:
    lines = ["| | |", "| --- | --- |"]
    for key, value in machine.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        lines.append(f"| {key.replace('_', ' ')} | {_cell(str(value))} |")
    return lines


def summary_table(lanes: list[dict[str, Any]]) -> list[str]:
    lines = ["| lane | size | hygge s | best raw path | raw s | dlt s | hygge ÷ raw | hygge ÷ dlt | hygge RSS MB | "
             "raw RSS MB | dlt RSS MB |",
             "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for lane in lanes:
        results = lane["results"]
        hygge = next((r for r in results if r["tool"] == "hygge"), None)
        raw, dlt = best(results, "raw"), best(results, "dlt")
        lines.append("| " + " | ".join([
            lane["title"], lane["size"], _seconds_or_status(hygge), raw["contender"].removeprefix("raw: ") if raw
            else "—", _num(raw and raw["median_s"]), _seconds_or_status(dlt or _first(results, "dlt")),
            _ratio(hygge and hygge.get("ratio_best_raw")), _ratio(hygge and hygge.get("ratio_dlt")),
            _num(hygge and hygge.get("peak_rss_mb"), 0), _num(raw and raw["peak_rss_mb"], 0),
            _num(dlt and dlt["peak_rss_mb"], 0)]) + " |")
    return lines


def _first(results: list[dict[str, Any]], tool: str) -> dict[str, Any] | None:
    return next((r for r in results if r["tool"] == tool), None)


def _seconds_or_status(result: dict[str, Any] | None) -> str:
    if result is None:
        return "—"
    if "median_s" in result:
        return _num(result["median_s"])
    return "n/a" if result["status"] != "FAILED" else "FAILED"


def _server_cpu(result: dict[str, Any]) -> str:
    """The total, and each server's share when there are several (e.g. "1.32 (postgres 1.25, s3 0.07)")."""
    total = _num(result.get("server_cpu_s"))
    shares = result.get("server_cpu_by_server") or {}
    if len(shares) < 2:
        return total
    return f"{total} ({', '.join(f'{name} {_num(value)}' for name, value in shares.items())})"


def lane_table(lane: dict[str, Any]) -> list[str]:
    per_entity = lane["entities"] > 1
    size = lane["input_bytes"]
    shown = f"{size / 1e6:,.1f} MB" if size >= 1e5 else f"{size / 1e3:,.1f} kB"
    title = f"### {lane['title']} — {lane['size']} ({lane['rows']:,} row{'s' * (lane['rows'] != 1)}, {shown} input)"
    servers = lane.get("servers", [])
    head = ("| contender | median s | rows/s | MB/s | peak RSS MB | client CPU s |"
            + (f" server CPU s ({', '.join(servers)}) |" if servers else "") + (" s/entity |" if per_entity else ""))
    lines = [title, "", head + " ÷ best raw | ÷ dlt | runs | note |",
             "| --- |" + " ---: |" * (7 + bool(servers) + per_entity) + " ---: | --- |"]
    for r in lane["results"]:
        timed = "median_s" in r
        cells = [r["contender"], _num(r.get("median_s"), 3) if timed else r["status"], _rate(r.get("rows_per_s")),
                 _num(r.get("mb_per_s"), 1), _num(r.get("peak_rss_mb"), 0), _num(r.get("cpu_s"))]
        if servers:
            cells.append(_server_cpu(r))
        if per_entity:
            cells.append(f"{r['s_per_entity'] * 1000:.1f} ms" if timed else "—")
        ok_runs = sum(run["ok"] for run in r["runs"])
        cells += [_ratio(r.get("ratio_best_raw")), _ratio(r.get("ratio_dlt")), f"{ok_runs}/{len(r['runs'])}",
                  _cell(r["reason"])]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


HEADER = """# hygge benchmarks

{generated}

{commands}

Each contender runs as a whole process (interpreter or binary start-up included), as many times as asked (the "runs"
column), interleaved with the other contenders; the tables show the median wall time. A run only counts when it exits
0 and the target then holds exactly the source's row count; otherwise the contender is FAILED and is not timed.

- **rows/s** and **MB/s**: source rows and source bytes (file size on disk, or the table's size in the server) per
  second of median wall time.
- **peak RSS**: the child's `ru_maxrss` from `os.wait4` (for tools that spawn helpers: the largest of them).
- **client CPU s**: user + system CPU time of the contender's process and its children; above the wall time means
  parallel work. **server CPU s**: user + system CPU time the lane's servers (PostgreSQL, MariaDB, the S3 server, all
  local processes) spent during the run, read from /proc before and after it; it covers the whole server, so other
  clients of a shared server count too.
- **÷ best raw**, **÷ dlt**: this contender's median time divided by the fastest raw-library path's (or dlt's).
  Below 1.00× is faster.

See [README.md](README.md) for what each lane and contender does.
"""


def render(data: dict[str, Any]) -> str:
    settings = data["settings"]
    commands = settings["commands"]
    generated = "Generated by:" if len(commands) == 1 else (
        "Generated by these commands, each merging its lanes into the results of the ones before (the machine is "
        "described as it was for the last):")
    lines = [HEADER.format(generated=generated, commands="\n".join(f"    {c}" for c in commands)), "## Machine", ""]
    lines += [*machine_table(data["machine"]), "", "## Summary: hygge, the best raw path and dlt", ""]
    lines += [*summary_table(data["lanes"]), "", "## Lanes", ""]
    for lane in data["lanes"]:
        lines += lane_table(lane)
    return "\n".join(lines)


def write(data: dict[str, Any], markdown: Path, raw_json: Path) -> None:
    markdown.parent.mkdir(parents=True, exist_ok=True)
    for lane in data["lanes"]:
        annotate(lane)
    raw_json.write_text(json.dumps(data, indent=1) + "\n")
    markdown.write_text(render(data) + "\n")
