"""A real server and a real browser: `huiju serve` (waitress) over a demo instance, headless Chromium.

Chromium is Debian's (/usr/bin/chromium, installed by `bash dev.sh test` when
run as root); Playwright's own browser download is never used. Without it the
browser tests skip with the reason, except on CI (CI=true), where they fail.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.net import free_port
from tests.test_cli import ROOT, huiju

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"
HOSTILE = {
    "source_record_id": "xss-1", "title": '<img src=x onerror="window.__xss=1">恶意标题',
    "description": "<script>window.__xss=2</script>简介", "url": "javascript:window.__xss=4",
    "keywords": ["</script><script>window.__xss=3</script>"],
}
"""A harvested record that tries to run script through every field the pages show."""
DOCS_IMG = ROOT / "docs" / "img"


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is absent: `bash dev.sh test` installs Debian's chromium when run as root"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM



@pytest.fixture(scope="session")
def demo_instance(tmp_path_factory: pytest.TempPathFactory, chromium: Path) -> Path:
    """The instance folder `server` serves (the curator test reads its login and store)."""
    return tmp_path_factory.mktemp("browser-instance")


@pytest.fixture(scope="session")
def server(demo_instance: Path) -> Iterator[str]:
    """Base URL of `huiju serve` over a fresh demo instance whose national records a curator approved.

    Teachers see approved works only (the default); if this checkout has no `huiju review`
    command, the server shows every work instead (SITE_SHOW_UNPUBLISHED).
    """
    instance = demo_instance
    huiju(instance, "demo", "--no-serve", timeout=900)  # ~5,000 records: minutes on a busy 2-core machine
    hostile = instance / "hostile.jsonl"
    hostile.write_text(json.dumps(HOSTILE, ensure_ascii=False) + "\n", "utf-8")
    huiju(instance, "import", str(hostile), "--format", "jsonl", "--source", "evil", "--level", "school")
    huiju(instance, "dedupe")
    approved = all(huiju(instance, "review", "approve", "--source", name, check=False).returncode == 0
                   for name in ("national", "evil"))
    if approved:
        huiju(instance, "reindex")  # the index carries review status
    env = {**os.environ, "HUIJU_INSTANCE_PATH": str(instance), "HUIJU_LOG_LEVEL": "WARNING",
           "HUIJU_SITE_SHOW_UNPUBLISHED": "0" if approved else "1"}
    env.pop("HUIJU_DATABASE_URL", None)
    with serving(env, instance) as url:
        yield url


@contextmanager
def serving(env: dict[str, str], instance: Path, *, start_timeout: float = 60) -> Iterator[str]:
    """`huiju serve` (waitress, 4 threads) on a free loopback port with `env`; its base URL; stopped after."""
    port = free_port()
    log = (instance / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "repository", "serve", "--host", "127.0.0.1", "--port",
                                str(port), "--threads", "4"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    output = (instance / "serve.log").read_text()
                    raise AssertionError(f"huiju serve did not start:\n{output}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


CSP_WATCH = "window.__csp = []; document.addEventListener('securitypolicyviolation', e => " \
            "window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"


def new_page(browser: Any, **context: Any) -> Any:
    """A page in a fresh zh-CN context that records CSP violations and script errors (see assert_clean)."""
    page = browser.new_context(locale="zh-CN", **context).new_page()
    page.add_init_script(CSP_WATCH)
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def assert_clean(page: Any) -> None:
    """No CSP violation and no script error on the page."""
    assert page.evaluate("window.__csp") == []
    assert page.errors == []


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        yield launched
        launched.close()


def screenshot(page: object, name: str, *, docs: bool = True) -> Path:
    """Save to test-artifacts/ (gitignored); HUIJU_UPDATE_SCREENSHOTS=1 also refreshes docs/img/ for the README."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    if docs and os.environ.get("HUIJU_UPDATE_SCREENSHOTS") == "1":  # the README shows the screen as scrolled now
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_IMG / name))  # type: ignore[attr-defined]
    scrolled = page.evaluate("[window.scrollX, window.scrollY]")  # type: ignore[attr-defined]
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    page.evaluate("xy => window.scrollTo(xy[0], xy[1])", scrolled)  # type: ignore[attr-defined]  # as it was
    return path
