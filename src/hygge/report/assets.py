"""The report's style and its one small script, inlined into the page: it must open anywhere, offline."""

from __future__ import annotations

STYLE = """
:root { --ok: #2e7d32; --empty: #b7791f; --failed: #c62828; --muted: #667085; --line: #e4e7ec;
        --overdue: #fff4e5; --overdue-edge: #e65100; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; color: #1d2939; background: #f6f7f9; }
header { padding: 20px 28px 12px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { margin: 0 0 4px; font-size: 22px; }
h2 { margin: 0; font-size: 18px; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
h3 { margin: 14px 0 6px; font-size: 14px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.summary { color: var(--muted); margin: 0 0 10px; }
nav ul { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 6px 14px; }
nav a { color: inherit; text-decoration: none; font-size: 14px; }
nav a:hover { text-decoration: underline; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; background: var(--muted);
       margin-right: 5px; }
.dot.ok { background: var(--ok); } .dot.empty { background: var(--empty); } .dot.failed { background: var(--failed); }
.dot.cancelled, .dot.interrupted { background: var(--empty); }
main { padding: 18px 28px 40px; display: grid; gap: 18px; }
.entity { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; }
.entity.overdue { border-left: 6px solid var(--overdue-edge); }
.where { margin: 4px 0 10px; color: var(--muted); font-size: 13px; word-break: break-all; }
.badge { font-size: 12px; font-weight: 600; padding: 2px 8px; border-radius: 999px; color: #fff;
         background: var(--muted); }
.badge.ok { background: var(--ok); } .badge.empty { background: var(--empty); }
.badge.failed { background: var(--failed); } .badge.cancelled, .badge.interrupted { background: var(--empty); }
.badge.overdue { background: var(--overdue-edge); display: none; }
.entity.overdue .badge.overdue { display: inline-block; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px 16px; margin: 0; }
.facts div { min-width: 0; }
.facts dt { font-size: 12px; color: var(--muted); }
.facts dd { margin: 2px 0 0; font-size: 15px; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.facts dd.overdue, .entity.overdue [data-fact="freshness"] { background: var(--overdue); color: var(--overdue-edge);
         font-weight: 600; border-radius: 4px; padding: 0 4px; }
.charts { display: flex; flex-wrap: wrap; gap: 10px 18px; margin-top: 12px; }
figure { margin: 0; }
figcaption { font-size: 12px; color: var(--muted); }
.chart .grid { stroke: var(--line); }
.chart .axis, .chart .empty { font-size: 10px; fill: var(--muted); }
.chart .bar { fill: var(--ok); } .chart .bar.empty { fill: var(--empty); }
.chart .bar.failed, .chart .bar.cancelled, .chart .bar.interrupted { fill: var(--failed); }
.chart .trend { fill: none; stroke: #1e88e5; stroke-width: 1.5; }
.chart .dot { fill: #1e88e5; } .chart .dot.failed, .chart .dot.cancelled { fill: var(--failed); }
.failures { list-style: none; padding: 0; margin: 0; display: grid; gap: 8px; }
.failures li { border-left: 3px solid var(--failed); padding: 4px 10px; background: #fff5f5; }
.failures .when { font-size: 13px; color: var(--muted); margin: 0; }
pre.error { white-space: pre-wrap; margin: 4px 0; font-size: 13px; color: #7a1c1c; }
.next { margin: 2px 0 4px; font-weight: 600; }
.changes { margin: 0; padding-left: 18px; font-size: 14px; }
.problem { color: var(--failed); white-space: pre-wrap; font-size: 13px; }
details { margin-top: 12px; }
summary { cursor: pointer; color: var(--muted); font-size: 14px; }
table.runs { border-collapse: collapse; font-size: 13px; margin-top: 6px; width: 100%; }
table.runs th, table.runs td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: right;
         white-space: nowrap; }
table.runs th:first-child, table.runs td:first-child, table.runs td.status { text-align: left; }
"""

# Ages are drawn when the file is written; a report opened later says how old things are *now*, and an entity
# that became overdue since is flagged (only ever flagged: time moves one way).
SCRIPT = """
(function () {
  function ago(seconds) {
    if (seconds < 1) return "just now";
    var units = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
    for (var i = 0; i < units.length; i++) {
      var size = units[i][1];
      if (seconds >= size) {
        var whole = Math.floor(seconds / size), text = whole + " " + units[i][0];
        var next = units[i + 1];
        if (next && size > 60) {
          var rest = Math.floor((seconds - whole * size) / next[1]);
          if (rest) text += " " + rest + " " + next[0];
        }
        return text + " ago";
      }
    }
    return "just now";
  }
  var now = Date.now();
  document.querySelectorAll("time[data-ago]").forEach(function (el) {
    var at = Date.parse(el.getAttribute("datetime"));
    if (!isNaN(at) && now >= at) el.textContent = ago((now - at) / 1000);
  });
  document.querySelectorAll("section.entity[data-expect-seconds]").forEach(function (el) {
    var limit = parseFloat(el.dataset.expectSeconds), last = Date.parse(el.dataset.lastSuccess || "");
    if (isNaN(last) || (now - last) / 1000 > limit) {
      el.classList.add("overdue");
      el.dataset.overdue = "true";
    }
  });
})();
"""
