"""The operators' dashboard: who may see it, that its figures are the store's, escaping, SVG and indexes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import lxml.etree
import lxml.html
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from repository import charts, dashboard_data
from repository.ingest import claim_harvest, release_harvest
from repository.models import RecordRow
from tests.site.operators import EVIL_NAME, EVIL_RAW, EVIL_REASON, EXTRA_RUNS, Ops, build, make_app, signed_in
from tests.store.conftest import pg_schema  # noqa: F401 - the store tests' fixture: a fresh PostgreSQL schema

ROUTES = ["/dashboard", "/dashboard/runs", "/dashboard/quarantine", "/dashboard/quarantine/{raw}",
          "/dashboard/quarantine/{raw}/raw"]


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Ops:
    return build(tmp_path_factory.mktemp("ops"))


@pytest.fixture(scope="module")
def app(ops: Ops) -> Iterator[Flask]:
    yield from make_app(ops)


@pytest.fixture(scope="module")
def curator(app: Flask) -> FlaskClient:
    return signed_in(app, "cur")


def get(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:300])
    return response.get_data(as_text=True)


def table_rows(html: str, selector: str) -> dict[str, list[str]]:
    """First cell → the other cells, for each body row of the table matched by the CSS selector."""
    table = lxml.html.fromstring(html).cssselect(selector)[0]
    rows = {}
    for tr in table.cssselect("tbody tr"):
        cells = [c.text_content().strip() for c in tr if c.tag in ("th", "td")]
        rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.parametrize("route", ROUTES)
def test_anonymous_is_sent_to_sign_in(app: Flask, ops: Ops, route: str) -> None:
    response = app.test_client().get(route.format(raw=ops.raw_entry))
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]


@pytest.mark.parametrize("route", ROUTES)
def test_curators_and_admins_may_see_it(app: Flask, ops: Ops, curator: FlaskClient, route: str) -> None:
    url = route.format(raw=ops.raw_entry)
    assert curator.get(url).status_code == 200
    assert signed_in(app, "adm").get(url).status_code == 200


def test_sources_with_state_last_and_next_run(ops: Ops, curator: FlaskClient) -> None:
    html = get(curator, "/dashboard")
    rows = table_rows(html, "table.sources")
    assert set(rows) == {"city", EVIL_NAME, "off"}
    kind, level, state, last, upcoming = rows["city"]
    assert (kind, level, state) == ("oai", "市级", "空闲")
    assert "成功" in last and "新增 4" in last
    assert re.match(r"\d{4}-\d\d-\d\d 03:00", upcoming), upcoming  # 0 3 * * * in Asia/Shanghai
    assert rows[EVIL_NAME][2] == "失败" and "未定时" in rows[EVIL_NAME][4]
    assert rows["off"][2] == "已停用" and f"未变 {EXTRA_RUNS - 1}" in rows["off"][3]
    claimed, _ = claim_harvest(ops.store, "city")  # a live harvest of this very process holds the lock
    assert claimed
    try:
        assert table_rows(get(curator, "/dashboard"), "table.sources")["city"][2] == "采集中"
    finally:
        release_harvest(ops.store, "city")


def test_records_by_level_and_status(ops: Ops, curator: FlaskClient) -> None:
    rows = table_rows(get(curator, "/dashboard"), "table.levels")
    # columns: pending, approved, rejected, returned, total
    assert rows["市级"] == ["2", "1", "1", "0", "4"]
    assert rows["校级"] == ["2", "0", "0", "0", "2"]
    with ops.store.session() as s:
        live = s.scalar(select(func.count()).select_from(RecordRow).where(RecordRow.deleted.is_(False)))
    assert sum(int(r[-1]) for r in rows.values()) == live


def test_dedup_and_review_figures(ops: Ops, curator: FlaskClient) -> None:
    html = get(curator, "/dashboard")
    with ops.store.session() as s:
        works = s.scalar(select(func.count(func.distinct(RecordRow.work_id))))
    doc = lxml.html.fromstring(html)
    figures = [dd.text_content() for dd in doc.cssselect("dl.figures dd")]
    assert figures == [str(works), "6", f"{6 / works:.2f}"] and works == 5  # two records share an identifier
    sizes = table_rows(html, "#fig-sizes-cap ~ details table")
    assert sizes["1"] == ["4"] and sizes["2"] == ["1"]
    throughput = table_rows(html, "#fig-throughput-cap ~ details table")
    first = next(iter(throughput))
    assert throughput[first] == ["1", "1", "0", "2"]  # newest day first: one approval, one rejection today
    assert len(throughput) == 30 and date.fromisoformat(first)
    backlog = table_rows(html, "#fig-backlog-cap ~ details table")
    assert backlog["不到 1 天"] == ["3"] and backlog["30–90 天"] == ["1"] and backlog["90 天以上"] == ["0"]


def test_runs_are_paginated(curator: FlaskClient) -> None:
    first = table_rows(get(curator, "/dashboard/runs"), "table.runs")
    second = table_rows(get(curator, "/dashboard/runs?page=2"), "table.runs")
    assert len(first) == 50 and len(second) == EXTRA_RUNS + 2 - 50
    assert not set(first) & set(second)
    newest = max(int(k[1:]) for k in first)
    assert f"#{newest}" in first and first[f"#{newest}"][0] == "off"
    assert "共 54 次采集" in get(curator, "/dashboard/runs")
    get(curator, "/dashboard/runs?page=x", 400)


def test_hostile_text_is_escaped(ops: Ops, curator: FlaskClient) -> None:
    for url in ("/dashboard", "/dashboard/runs?page=2", "/dashboard/quarantine",
                f"/dashboard/quarantine/{ops.raw_entry}"):
        html = get(curator, url)
        assert "<script>alert" not in html, url
    assert "&lt;script&gt;alert(&#34;src&#34;)&lt;/script&gt;" in get(curator, "/dashboard")
    assert "&lt;script&gt;alert(&#34;reason&#34;)" in get(curator, "/dashboard/quarantine")


def test_quarantine_entry_shows_an_escaped_preview_and_downloads_the_bytes(ops: Ops, curator: FlaskClient) -> None:
    html = get(curator, f"/dashboard/quarantine/{ops.raw_entry}")
    pre = lxml.html.fromstring(html).cssselect("pre.raw")[0].text_content()
    assert pre.startswith('<script>alert("raw")</script>\\x00\\xff')  # shown as text, control bytes spelt out
    assert len(pre) < len(EVIL_RAW) and "16384" in html  # a preview, cut, and it says so
    assert EVIL_REASON not in html and "解析" in html
    response = curator.get(f"/dashboard/quarantine/{ops.raw_entry}/raw")
    assert response.data == EVIL_RAW
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"] == f'attachment; filename="quarantine-{ops.raw_entry}.bin"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "没有保存原始数据" in get(curator, f"/dashboard/quarantine/{ops.empty_entry}")
    get(curator, f"/dashboard/quarantine/{ops.empty_entry}/raw", 404)
    get(curator, "/dashboard/quarantine/999999", 404)


def test_every_chart_is_well_formed_accessible_svg(curator: FlaskClient) -> None:
    html = get(curator, "/dashboard")
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
    assert len(svgs) == 4
    for markup in svgs:
        svg = lxml.etree.fromstring(markup.encode())  # strict XML: raises on anything malformed
        ns = {"s": "http://www.w3.org/2000/svg"}
        assert svg.get("role") == "img"
        title, desc = svg.find("s:title", ns), svg.find("s:desc", ns)
        assert title is not None and desc is not None and title.text and desc.text
        assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert svg.xpath("//s:rect[contains(@class, 'bar')]", namespaces=ns)
        assert "style=" not in markup  # the CSP blocks inline styles: colours come from classes


def test_charts_escape_labels_and_scale_bars() -> None:
    svg = charts.bar_chart([('<script>x</script>"&', 10), ("b", 5)], chart_id='c"1', title="<t>", desc="&d")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;t&gt;" in svg and "&amp;d" in svg
    root = lxml.etree.fromstring(str(svg).encode())
    widths = [float(r.get("width")) for r in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert widths[0] == pytest.approx(2 * widths[1])
    stacked = charts.stacked_bar_chart([("a", [1, 3])], ["<p>", "q"], chart_id="s", title="t", desc="d")
    assert "&lt;p&gt;" in stacked and lxml.etree.fromstring(str(stacked).encode()) is not None
    column = charts.column_chart([("01", 0), ("02", 4)], chart_id="k", title="t", desc="d", every=1)
    assert "02: 4" in column and charts.column_chart([], chart_id="e", title="t", desc="d").startswith("<svg")


@pytest.mark.parametrize(("enabled", "status", "live", "state"), [
    (False, "running", True, "disabled"), (True, "running", True, "running"), (True, "running", False, "failed"),
    (True, "interrupted", False, "failed"), (True, "succeeded", False, "idle"), (True, None, False, "idle")])
def test_source_state(enabled: bool, status: str | None, live: bool, state: str) -> None:
    assert dashboard_data.source_state(enabled, status, live) == state


def test_figures_come_from_indexes(ops: Ops) -> None:
    """The aggregates stay fast on a million records: SQLite answers them from an index, not the table."""
    with ops.store.session() as s:
        plans = {}
        for name, query in (
            ("levels", "SELECT review_status, source_level, count(*) FROM records WHERE deleted = 0 "
                       "GROUP BY review_status, source_level"),
            ("backlog", "SELECT count(*) FROM records WHERE review_status = 'pending' AND deleted = 0 "
                        "AND datestamp < '2026-01-01'"),
            ("throughput", "SELECT at, decision FROM review_actions WHERE at >= '2026-01-01'"),
            ("sizes", "SELECT count(*) FROM records WHERE work_id IS NOT NULL GROUP BY work_id"),
        ):
            plans[name] = " ".join(row[-1] for row in s.execute(text("EXPLAIN QUERY PLAN " + query)))
    for name, plan in plans.items():
        assert "COVERING INDEX" in plan and "TEMP B-TREE" not in plan, (name, plan)


def test_operator_code_has_no_hard_coded_labels() -> None:
    """Labels come from web/i18n (tests/site/test_i18n.py checks the templates and the teacher views)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "repository"
    for path in (root / "views" / "dashboard.py", root / "views" / "admin.py", root / "charts.py",
                 root / "dashboard_data.py"):
        code = "\n".join(line.split("#")[0] for line in path.read_text("utf-8").splitlines())
        strings = re.findall(r'"([^"\n]*)"', code)
        assert not [s for s in strings if re.search(r"[\u4e00-\u9fff]", s)], path.name


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_figures_on_both_databases(backend: str, tmp_path, request: pytest.FixtureRequest) -> None:  # noqa: ANN001
    """The dialect-specific parts (days in the zone, byte lengths and slices) give the same figures."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from repository.store import Store
    from tests.store.conftest import PG_URL

    store = Store(PG_URL, schema=request.getfixturevalue("pg_schema")) if backend == "postgresql" else None
    ops = build(tmp_path, store)
    try:
        with ops.store.session() as s:
            levels = dashboard_data.records_by_level_and_status(s)
            dedup = dashboard_data.dedup_figures(s)
            days = dashboard_data.review_throughput(s, ZoneInfo("Asia/Shanghai"))
            backlog = dict(dashboard_data.backlog(s, datetime.now(UTC)))
            entry = dashboard_data.quarantine_entry(s, ops.raw_entry)
            total, page = dashboard_data.quarantine_page(s, 1, 10)
        assert levels == {("municipal", "pending"): 2, ("municipal", "approved"): 1, ("municipal", "rejected"): 1,
                          ("school", "pending"): 2}
        assert (dedup.works, dedup.records, dedup.histogram) == (5, 6, [(1, 4), (2, 1)])
        assert days[-1][0] == datetime.now(ZoneInfo("Asia/Shanghai")).date()
        assert days[-1][1] == {"approved": 1, "rejected": 1} and sum(sum(d.values()) for _, d in days) == 2
        assert backlog == {"day": 3, "week": 0, "month": 0, "quarter": 1, "older": 0}
        assert bytes(entry.head) == EVIL_RAW[: dashboard_data.PREVIEW_BYTES + 1] and entry.size == len(EVIL_RAW)
        assert total == 2 and [row.size for row in page] == [None, len(EVIL_RAW)]
        states = {s.name: s.state for s in dashboard_data.sources(ops.store, ops.settings)}
        assert states == {"city": "idle", EVIL_NAME: "failed", "off": "disabled"}
    finally:
        ops.store.close()
