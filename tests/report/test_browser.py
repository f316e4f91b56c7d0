"""`hygge report` opened in a real browser (headless Chromium) after a series of real runs with failures in it:
the page's DOM, after its script ran, shows every entity, its numbers and its charts; a screenshot is taken."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hygge import samples
from tests.helpers import run_here, run_hygge, write_project

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    reason = "chromium is not installed (Debian: apt-get install -y chromium; .ci/run installs it)"
    if os.environ.get("HYGGE_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and HYGGE_REQUIRE_SERVICES=1 says it must be there")
    pytest.skip(reason)


def browse(exe: str, page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=120)


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(self.texts) + "".join(c.text() for c in self.children)

    def all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        found = []
        for child in self.children:
            if ((tag is None or child.tag == tag) and (cls is None or cls in child.classes)
                    and all(child.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())):
                found.append(child)
            found += child.all(tag, cls, **attrs)
        return found

    def one(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, cls, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} class={cls} {attrs}> in <{self.tag} {self.attrs}>"
        return found[0]


class Tree(HTMLParser):
    VOID: ClassVar[set[str]] = {"meta", "br", "hr", "img", "input", "link", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].texts.append(data)


def parse(dom: str) -> Node:
    tree = Tree()
    tree.feed(dom)
    return tree.root


def week(root: Path) -> None:
    """Four real runs: a schema change on the second, a source damaged before the third."""
    write_project(root, """\
        name: week
        options: {concurrency: 1}  # two moves opening a new SQLite file at once can find it locked
        flows:
          lake:
            home: {type: parquet, path: data/source}
            store: {type: parquet, path: data/lake}
            entities:
              - users
              - name: orders
                run_type: append
                expect_every: 1h
          db:
            home: {type: parquet, path: data/source}
            store: {type: sqlite, path: data/shop.sqlite}
            entities:
              - name: sales
                expect_every: 1s
              - returns
        """)
    source = root / "data" / "source"
    source.mkdir(parents=True)
    pq.write_table(samples.users(1000), source / "users.parquet")
    pq.write_table(samples.orders(500), source / "orders.parquet")
    pq.write_table(samples.orders(300), source / "sales.parquet")
    pq.write_table(samples.orders(40), source / "returns.parquet")
    run_here("go", "-q", cwd=root, check=0)
    grown = samples.users(1200)
    pq.write_table(grown.append_column("tier", pa.array(["gold"] * grown.num_rows)), source / "users.parquet")
    run_here("go", "-q", cwd=root, check=0)
    (source / "returns.parquet").write_bytes(b"PAR1 the export was cut short")
    run_here("go", "-q", cwd=root, check=1)
    run_here("go", "-q", cwd=root, check=1)


def journal(root: Path) -> dict[str, list[dict[str, Any]]]:
    """The runs of each entity as `hygge history --json` tells them: what the page must show."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for record in json.loads(run_here("history", "--json", "--limit", "1000", cwd=root, check=0).stdout)["runs"]:
        runs.setdefault(f"{record['flow']}.{record['entity']}", []).append(record)
    return runs


def marks(chart: Node) -> list[float]:
    return [float(m.attrs["data-value"]) for m in chart.all(cls="mark")]


def test_the_report_of_a_week_of_runs_in_chromium(tmp_path: Path) -> None:
    exe = chromium()
    root = tmp_path / "week"
    week(root)
    runs = journal(root)
    assert sorted(runs) == ["db.returns", "db.sales", "lake.orders", "lake.users"]
    # db.sales expects a load every second: wait until its last one is older than that.
    last_sales = datetime.fromisoformat(runs["db.sales"][-1]["ended_at"])
    while (datetime.now(last_sales.tzinfo) - last_sales).total_seconds() <= 1.5:
        time.sleep(0.2)

    page = tmp_path / "site" / "report.html"
    proc = run_here("report", "--out", str(page), cwd=root, check=0)
    assert "4 entities, 1 failing, 1 overdue" in proc.stdout, proc.stdout
    shot = tmp_path / "report.png"
    taken = browse(exe, page, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1280,2000")
    dumped = browse(exe, page, tmp_path / "profile-dom", "--dump-dom")
    assert dumped.returncode == 0 and "<main>" in dumped.stdout, dumped.stderr[-2000:]

    png = shot.read_bytes() if shot.exists() else b""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", taken.stderr[-2000:]
    assert struct.unpack(">II", png[16:24]) == (1280, 2000)
    assert len(png) > 50_000, "a page of cards and charts, not a blank one"

    dom = parse(dumped.stdout)
    sections = {s.attrs["data-entity"]: s for s in dom.all("section", cls="entity")}
    assert sorted(sections) == sorted(runs)
    assert [a.text().strip() for a in dom.one("nav").all("a")] == sorted(runs)
    for key, records in runs.items():
        section = sections[key]
        last, ok = records[-1], [r for r in records if r["status"] in ("ok", "empty")]
        assert section.attrs["data-status"] == last["status"], key
        assert section.one("h2").one("span", cls=last["status"]).text() == last["status"], key
        assert section.one("dd", data_fact="rows").text() == f"{last['rows_written']:,}", key
        assert section.one("dd", data_fact="rows-in-target").text() == f"{ok[-1]['rows_in_target']:,}", key
        assert section.one("dd", data_fact="runs").text().startswith(str(len(records)))
        charts = {c.attrs["data-chart"]: c for c in section.all("svg")}
        assert sorted(charts) == ["duration", "rows", "throughput"], key
        for kind, chart in charts.items():
            assert chart.attrs["role"] == "img" and key in chart.attrs["aria-label"], (key, kind)
            assert chart.children[0].tag == "title" and key in chart.children[0].text(), (key, kind)
            assert len(marks(chart)) == int(chart.attrs["data-points"]), (key, kind)
        assert marks(charts["rows"]) == [r["rows_written"] for r in records], key
        assert [m.attrs["data-status"] for m in charts["rows"].all(cls="mark")] == [r["status"] for r in records]
        assert len(marks(charts["duration"])) == len(records), key
        assert len(marks(charts["throughput"])) == len(ok), key
        assert all(v > 0 for v in marks(charts["throughput"])), key
        assert len(section.one("table", cls="runs").one("tbody").all("tr")) == len(records), key

    assert [marks(sections["lake.orders"].one("svg", data_chart="rows"))] == [[500.0] * 4]
    assert sections["lake.users"].one("dd", data_fact="rows").text() == "1,200"

    failing = sections["db.returns"]
    failures = failing.one("ol", cls="failures").all("li")
    assert len(failures) == 2 and [li.attrs["data-status"] for li in failures] == ["failed", "failed"]
    message = failures[0].one("pre", cls="error").text()
    assert message == runs["db.returns"][-1]["error"], "the whole message, as the journal keeps it"
    assert "entity returns" in message and "returns.parquet" in message
    step = failures[0].one("p", cls="next").text()
    assert step.startswith("next step: ") and step.removeprefix("next step: ") in message
    assert failing.attrs["data-overdue"] == "false", "no expect_every: never overdue"

    overdue = {k for k, s in sections.items() if s.attrs["data-overdue"] == "true"}
    assert overdue == {"db.sales"}, "expect_every 1s with a last load older than that; lake.orders expects 1h"
    assert "overdue" in sections["db.sales"].classes and "expected every 1s" in sections["db.sales"].one(
        "dd", data_fact="freshness").text()
    assert "ago" in sections["lake.orders"].one("dd", data_fact="freshness").text()

    changes = sections["lake.users"].one("ul", cls="changes").all("li")
    assert len(changes) == 1 and "new column tier" in changes[0].text()
    assert changes[0].attrs["data-run"] == runs["lake.users"][1]["run_id"]
    assert not sections["lake.orders"].all("ul", cls="changes")
    assert sections["lake.orders"].one("dd", data_fact="watermark").text() == "-"


def test_open_is_accepted_and_the_default_file_is_in_the_project(tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", """\
        name: tiny
        flows:
          lake:
            home: {type: parquet, path: src}
            store: {type: parquet, path: out}
            entities: [users]
        """)
    pq.write_table(samples.users(10), (root / "src").mkdir() or root / "src" / "users.parquet")
    run_here("go", "-q", cwd=root, check=0)
    proc = run_hygge("report", "--open", cwd=root, env={"BROWSER": "true"}, check=0)
    assert (root / "hygge-report.html").is_file() and "1 entity, 0 failing, 0 overdue" in proc.stdout
    assert "no browser" not in proc.stdout, proc.stdout
