"""Durations a person writes in YAML: ``30m``, ``2h``, ``1d``, ``1w``, or a number of seconds."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$")
_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
EXAMPLES = "a number of seconds, or a duration such as 30m, 2h, 1d"


def seconds(value: str | int | float) -> float | None:
    """The duration in seconds, or None when ``value`` is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = _DURATION.match(value)
    return float(match.group(1)) * _SECONDS[match.group(2)] if match else None
