"""Launcher that measures one command: wall time, peak RSS and CPU time, written as JSON to RESULT_FILE.

    python -I -S spawn.py RESULT_FILE COMMAND [ARGS...]

Why a launcher: Linux starts a new process's peak RSS (ru_maxrss) at the peak of the process it was forked or
vforked from, so a child spawned straight from the runner (which holds pyarrow, duckdb and friends) would never
report less than the runner's own peak. This launcher is a bare interpreter (isolated, no site: about 10 MB), so
the floor it leaves on the measured command is its own tiny footprint. It only uses the standard library.
"""

import json
import os
import sys
import time


def main() -> int:
    result_file, argv = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    with open(result_file, "w") as fh:
        json.dump({"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024,
                   "cpu_seconds": usage.ru_utime + usage.ru_stime, "exit_code": code}, fh)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
