"""Numbers as people read them."""

from __future__ import annotations


def size(n: float | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} TB"


def rate(rows: float, seconds: float) -> str:
    if seconds <= 0 or rows <= 0:
        return ""
    per_second = rows / seconds
    if per_second >= 1e6:
        return f"{per_second / 1e6:,.1f}M rows/s"
    if per_second >= 1e3:
        return f"{per_second / 1e3:,.1f}k rows/s"
    return f"{per_second:,.0f} rows/s"


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def clock(seconds: float) -> str:
    """A time left, as a terminal shows one: 0:07, 12:30, 1:02:03."""
    whole = max(0, int(seconds + 0.5))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
