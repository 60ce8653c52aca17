"""An admin in a real browser: sign in, read the dashboard (desk and phone), reach the admin pages by keyboard.

Its own `huiju serve` (waitress) over a small demo federation (`huiju demo --no-serve --size 1000`, so a loaded
machine still builds it in time), with the admin account made by the real command:
`huiju user add NAME --role admin --password-stdin`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import assert_clean, new_page, screenshot, serving
from tests.test_cli import ROOT

pytestmark = pytest.mark.browser

ADMIN, PASSWORD = "ops-admin", "operator password 1"


def _huiju(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    result = subprocess.run([sys.executable, "-m", "repository", *args], input=stdin, cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"huiju {' '.join(args)}:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def admin_account(tmp_path_factory: pytest.TempPathFactory, chromium: Path) -> Iterator[str]:
    """Base URL of a server over a small demo instance that has an admin account."""
    instance = tmp_path_factory.mktemp("operator-instance")
    env = {**os.environ, "HUIJU_INSTANCE_PATH": str(instance), "HUIJU_LOG_LEVEL": "WARNING"}
    env.pop("HUIJU_DATABASE_URL", None)
    _huiju(env, "demo", "--no-serve", "--size", "1000")
    _huiju(env, "user", "add", ADMIN, "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    with serving(env, instance) as url:
        yield url


def _sign_in(page: Any, server: str) -> None:
    page.goto(server + "/dashboard")
    assert "/login?next=" in page.url, page.url  # anonymous: sent to sign in first
    page.get_by_label("用户名").fill(ADMIN)
    page.get_by_label("密码").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard")
    page.wait_for_load_state("networkidle")


def test_admin_reads_the_dashboard(admin_account: str, browser: Any) -> None:
    server = admin_account
    page = new_page(browser, viewport={"width": 1280, "height": 900})
    page.goto(server + "/")
    assert page.locator("a.signin").inner_text() == "登录"
    _sign_in(page, server)
    assert page.locator("h1").inner_text() == "运行概况"
    sources = page.locator("table.sources tbody th").all_inner_texts()
    assert "national" in sources and len(sources) >= 6
    assert page.locator("table.sources .state").count() >= len(sources)
    assert page.locator("svg.chart").count() == 4
    for chart in page.locator("svg.chart").all():
        box = chart.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 40  # drawn, at a readable size
    assert page.locator("table.levels tbody tr").count() >= 1
    assert int(page.locator("dl.figures dd").first.inner_text().replace(",", "")) > 100  # the demo's works
    screenshot(page, "dashboard.png")
    # the numbers behind a chart open from the keyboard
    summary = page.locator("#fig-backlog-cap ~ details summary")
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator("#fig-backlog-cap ~ details table").is_visible()
    # the admin link leads to the sources, whose edit form has labelled fields
    page.get_by_role("link", name="系统管理").click()
    page.wait_for_url("**/admin/sources")
    page.get_by_role("link", name="修改 national").click()
    assert page.get_by_label("采集时间").is_visible() and page.get_by_label("平台级别").is_visible()
    page.goto(server + "/admin/users")
    assert ADMIN in page.locator("table.users").inner_text()
    assert_clean(page)


def test_dashboard_on_a_phone(admin_account: str, browser: Any) -> None:
    page = new_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    _sign_in(page, admin_account)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # wide tables scroll inside their box
    assert page.locator("svg.chart").first.bounding_box()["width"] <= 390
    screenshot(page, "dashboard-phone.png", docs=False)
    assert_clean(page)
