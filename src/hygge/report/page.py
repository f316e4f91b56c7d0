"""The report as one HTML file: every style and script inline, every number in the page, nothing fetched."""

from __future__ import annotations

import re
from datetime import datetime
from html import escape

from hygge import __version__
from hygge.progress import human
from hygge.report import svg
from hygge.report.assets import SCRIPT, STYLE
from hygge.report.gather import EntityReport, ProjectReport
from hygge.state import watermark

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body data-generated="{generated}">
<header>
<h1>{title}</h1>
<p class="summary">{summary}</p>
{problems}
<nav aria-label="entities"><ul>{nav}</ul></nav>
</header>
<main>
{entities}
</main>
<script>{script}</script>
</body>
</html>
"""


def ago(seconds: float) -> str:
    """How long ago, as the page's script also says it: ``3 h 5 min ago``."""
    if seconds < 1:
        return "just now"
    units = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
    for i, (unit, size) in enumerate(units):
        if seconds >= size:
            whole = int(seconds // size)
            text = f"{whole} {unit}"
            if size > 60:
                rest = int((seconds - whole * size) // units[i + 1][1])
                if rest:
                    text += f" {rest} {units[i + 1][0]}"
            return text + " ago"
    return "just now"


def anchor(key: str) -> str:
    return "e-" + re.sub(r"[^A-Za-z0-9_.-]", "-", key)


def _time(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "never"
    iso = at.isoformat()
    return (f'<time datetime="{escape(iso)}" data-ago title="{escape(iso)}">'
            f'{escape(ago((now - at).total_seconds()))}</time>')


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _rows(value: float) -> str:
    return f"{value:,.0f} rows"


def _seconds(value: float) -> str:
    return human.duration(value)


def _rate(value: float) -> str:
    return f"{value:,.0f} rows/s"


def charts(item: EntityReport) -> str:
    runs = item.runs
    rows = [svg.Point(r.record.started_at, r.record.rows_written, r.record.status) for r in runs]
    timed = [svg.Point(r.record.started_at, s, r.record.status) for r in runs if (s := r.seconds) is not None]
    rates = [svg.Point(r.record.started_at, v, r.record.status) for r in runs if (v := r.rows_per_second) is not None]
    figures = [
        ("rows written", svg.bars("rows", f"Rows written per run, {item.key}: {len(rows)} runs", rows, _rows)),
        ("duration (seconds)", svg.line(
            "duration", f"Duration of each run, {item.key}: {len(timed)} runs", timed, _seconds)),
        ("rows per second (successful runs)", svg.line(
            "throughput", f"Rows per second of each successful run, {item.key}: {len(rates)} runs", rates, _rate)),
    ]
    return "".join(f"<figure>{chart}<figcaption>{escape(caption)}</figcaption></figure>" for caption, chart in figures)


def _facts(item: EntityReport, now: datetime) -> str:
    last = item.last
    success = item.last_success
    fresh = _time(success.ended or success.started, now) if success else "never"
    if item.expect_every:
        fresh += f" (expected every {escape(item.expect_every)})"
    mark = watermark.display(item.watermark)
    if item.watermark_column and item.watermark is not None:
        mark = f"{item.watermark_column}: {mark}"
    facts = [
        ("last-run", "last run", _time(last.started, now) + f" · {escape(last.record.run_type)}" if last else "none"),
        ("rows", "rows written, last run", _count(last.record.rows_written) if last else ""),
        ("rows-in-target", "rows in target", _count(success.record.rows_in_target) if success else ""),
        ("freshness", "last successful load", fresh),
        ("watermark", "watermark", escape(mark)),
        ("runs", "runs in the journal", f"{item.total_runs:,}" + (
            f" (charts show the last {len(item.runs)})" if item.total_runs > len(item.runs) else "")),
    ]
    overdue = ' class="overdue"'
    return '<dl class="facts">' + "".join(
        f'<div><dt>{label}</dt><dd data-fact="{name}"{overdue if name == "freshness" and item.overdue(now) else ""}>'
        f"{value}</dd></div>" for name, label, value in facts) + "</dl>"


def _failures(item: EntityReport, now: datetime) -> str:
    failed = item.failures
    if not failed:
        return ""
    out = []
    for run in failed[:10]:
        record = run.record
        step = run.next_step
        out.append(f'<li data-run="{escape(record.run_id)}" data-status="{escape(record.status)}">'
                   f'<p class="when">{_time(run.started, now)} · {escape(record.status)} · '
                   f'{escape(record.run_type)} · run {escape(record.run_id)}</p>'
                   f'<pre class="error">{escape(record.error or "(no message was recorded)")}</pre>'
                   + (f'<p class="next">next step: {escape(step)}</p>' if step else "") + "</li>")
    more = f"<p>and {len(failed) - 10} earlier failures</p>" if len(failed) > 10 else ""
    return f'<h3>failures ({len(failed)})</h3><ol class="failures">{"".join(out)}</ol>{more}'


def _changes(item: EntityReport, now: datetime) -> str:
    changed = item.schema_changes
    if not changed:
        return ""
    out = "".join(f'<li data-run="{escape(r.record.run_id)}">{_time(r.started, now)}: '
                  + "; ".join(escape(line) for line in r.record.schema_changes) + "</li>" for r in changed)
    return f'<h3>schema changes ({len(changed)})</h3><ul class="changes">{out}</ul>'


def _table(item: EntityReport) -> str:
    if not item.runs:
        return ""
    head = ("started (UTC)", "status", "run type", "rows read", "rows written", "in target", "time", "rows/s",
            "watermark after")
    rows = []
    for run in reversed(item.runs):
        r = run.record
        seconds, rate = run.seconds, run.rows_per_second
        cells = (escape(r.started_at[:19].replace("T", " ")), escape(r.status), escape(r.run_type),
                 _count(r.rows_read), _count(r.rows_written), _count(r.rows_in_target),
                 "" if seconds is None else escape(human.duration(seconds)), "" if rate is None else f"{rate:,.0f}",
                 escape(watermark.display(r.watermark_after)))
        rows.append(f'<tr data-run="{escape(r.run_id)}">' + "".join(
            f'<td class="status">{c}</td>' if i == 1 else f"<td>{c}</td>" for i, c in enumerate(cells)) + "</tr>")
    header = "".join(f'<th scope="col">{h}</th>' for h in head)
    return (f"<details><summary>every run shown, newest first ({len(item.runs)})</summary>"
            f'<table class="runs"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table></details>')


def entity_section(item: EntityReport, now: datetime) -> str:
    last = item.last
    status = last.record.status if last else "none"
    overdue = item.overdue(now)
    attrs = {
        "class": "entity" + (" overdue" if overdue else ""), "id": anchor(item.key), "data-entity": item.key,
        "data-status": status, "data-overdue": "true" if overdue else "false", "data-runs": str(len(item.runs)),
        "data-rows-last": str(last.record.rows_written) if last else "",
    }
    if item.expect_seconds is not None:
        attrs["data-expect-seconds"] = f"{item.expect_seconds:g}"
        success = item.last_success
        at = success and (success.ended or success.started)
        attrs["data-last-success"] = at.isoformat() if at else ""
    opening = " ".join(f'{k}="{escape(v)}"' for k, v in attrs.items())
    problem = f'<p class="problem">{escape(item.problem)}</p>' if item.problem else ""
    return (f"<section {opening} aria-labelledby=\"{anchor(item.key)}-h\">"
            f'<h2 id="{anchor(item.key)}-h">{escape(item.key)} <span class="badge {escape(status)}">'
            f'{escape(status if last else "no runs yet")}</span><span class="badge overdue">overdue</span></h2>'
            f'<p class="where">{escape(item.location)}</p>{problem}{_facts(item, now)}'
            f'<div class="charts">{charts(item)}</div>{_failures(item, now)}{_changes(item, now)}{_table(item)}'
            "</section>")


def _links(entities: list[EntityReport]) -> str:
    return ": " + ", ".join(f'<a href="#{anchor(e.key)}">{escape(e.key)}</a>' for e in entities) if entities else ""


def _summary(report: ProjectReport) -> str:
    failing, overdue = report.failing(), report.overdue()
    parts = [f"generated {escape(report.generated_at.strftime('%Y-%m-%d %H:%M:%S %Z'))} by hygge {__version__}",
             f"{len(report.entities)} entities", f'<span data-summary="failing">{len(failing)} failing</span>'
             + _links(failing), f'<span data-summary="overdue">{len(overdue)} overdue</span>' + _links(overdue)]
    return " · ".join(parts)


def render(report: ProjectReport) -> str:
    now = report.generated_at
    nav = "".join(f'<li><a href="#{anchor(e.key)}"><span class="dot {escape(e.last.record.status if e.last else "")}">'
                  f"</span>{escape(e.key)}</a></li>" for e in report.entities)
    problems = "".join(f'<p class="problem">{escape(p)}</p>' for p in report.problems)
    sections = "\n".join(entity_section(e, now) for e in report.entities) or "<p>no entities and no runs yet</p>"
    return PAGE.format(title=escape(f"hygge report: {report.project}"), style=STYLE, script=SCRIPT,
                       generated=escape(now.isoformat()), summary=_summary(report), problems=problems, nav=nav,
                       entities=sections)

