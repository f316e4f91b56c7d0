"""What the numbers were measured on: hardware, OS, software versions, load, date."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import subprocess
from pathlib import Path

from harness import dbs
from harness.settings import HYGGE_PYTHON, PEERS, RAW_PYTHON, REPO, WORK

HYGGE_LIBRARIES = ("hygge", "pyarrow", "polars", "duckdb", "adbc-driver-postgresql", "adbc-driver-sqlite", "psycopg",
                   "pymysql", "numpy", "deltalake", "pyiceberg", "obstore")
PEER_VERSIONS = {
    "dlt": [str(PEERS / "dlt-venv" / "bin" / "python"), "-c", "import dlt; print(dlt.__version__)"],
    "ingestr": [str(PEERS / "ingestr-venv" / "bin" / "ingestr"), "--version"],
    "sling": [str(PEERS / "sling-venv" / "bin" / "sling-binary"), "--version"],
    "connectorx (raw venv)": [str(RAW_PYTHON), "-c", "import connectorx; print(connectorx.__version__)"],
    "duckdb (scanners venv)": [str(PEERS / "scanners-venv" / "bin" / "python"), "-c",
                               "import duckdb; print(duckdb.__version__)"],
    "dlt, deltalake, pyiceberg (dltlake venv)": [
        str(PEERS / "dltlake-venv" / "bin" / "python"), "-c",
        "import dlt, deltalake, pyiceberg; print(dlt.__version__, deltalake.__version__, pyiceberg.__version__)"],
    "seaweedfs": [str(PEERS / "seaweedfs-venv" / "bin" / "weed"), "version"],
}


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":" if ":" in line else "=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "unknown"


def cpu() -> str:
    """Model name plus what a bare 'AMD EPYC' leaves out: family/model, clock and whether it is a VM."""
    info = "/proc/cpuinfo"
    flags = _first(info, "flags").split()
    details = [f"family {_first(info, 'cpu family')} model {_first(info, 'model')}", f"{_first(info, 'cpu MHz')} MHz"]
    if "hypervisor" in flags:
        details.append("virtual machine")
    return f"{_first(info, 'model name')} ({', '.join(details)})"


def _output(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({type(exc).__name__})"
    text = (done.stdout or done.stderr).strip().splitlines()
    if done.returncode != 0 or not text:
        return "unavailable"
    return text[-1].replace("Version:", "").replace("ingestr version", "").strip()


def hygge_venv_versions() -> dict[str, str]:
    """Versions inside hygge's venv (which may not be the interpreter running this script)."""
    code = ("import sys; from importlib.metadata import version\n"
            "for n in sys.argv[1:]:\n"
            "    try: print(n, version(n))\n"
            "    except Exception: print(n, 'not installed')\n")
    done = subprocess.run([str(HYGGE_PYTHON), "-c", code, *HYGGE_LIBRARIES], capture_output=True, text=True)
    return dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


def git_revision() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True).stdout.strip()

    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    return git("rev-parse", "--short", "HEAD") + dirty


def describe() -> dict[str, object]:
    mem_kb = int(_first("/proc/meminfo", "MemTotal").split()[0]) if Path("/proc/meminfo").exists() else 0
    disk = shutil.disk_usage(WORK if WORK.exists() else REPO)
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu(),
        "cores": os.cpu_count(),
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "disk_free_gb": round(disk.free / 1e9, 1),
        "os": f"{_first('/etc/os-release', 'PRETTY_NAME')}, kernel {platform.release()}",
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": _output([str(HYGGE_PYTHON), "--version"]).replace("Python ", ""),
        "hygge_commit": git_revision(),
        "hygge_venv": hygge_venv_versions(),
        "peers": {name: _output(argv) for name, argv in PEER_VERSIONS.items()},
        "servers": dbs.server_versions(),
    }
