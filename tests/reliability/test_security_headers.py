"""Security headers on every page of the URL map, and pages that the Content-Security-Policy allows.

The CSP forbids inline script and style (no 'unsafe-inline') and framing; so
every HTML page the site renders is parsed here for inline script, event
handler attributes, ``javascript:`` URLs and ``style`` attributes, which the
policy would block in a browser (JSON-LD data blocks are not script and stay).
Pages a signed-in curator sees must not be kept by caches (Cache-Control:
no-store), so the back button after logout shows nothing of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import lxml.html
import pytest
from flask import Flask

from tests.reliability.test_access_control import POLICY, build_site, client_as, endpoints, expected_refusal, url
from tests.site.conftest import Site, _app

FIXED = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}
CSP_REQUIRED = {"default-src": "'self'", "object-src": "'none'", "frame-ancestors": "'none'", "base-uri": "'self'",
                "form-action": "'self'"}
DATA_BLOCKS = {"application/ld+json", "application/json"}
SESSIONLESS = ("api.", "oai.", "static")
"""Never read the session (repository/auth.py), so caches may share them: no no-store there."""


@pytest.fixture(scope="module")
def acl_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return build_site(tmp_path_factory.mktemp("headers"))


@pytest.fixture
def acl_app(acl_site: Site) -> Iterator[Flask]:
    yield from _app(acl_site)


def csp(header: str) -> dict[str, str]:
    return {part.split()[0]: " ".join(part.split()[1:]) for part in header.split(";") if part.strip()}


def page_problems(html: str) -> list[str]:
    """What the CSP would block in a rendered page."""
    problems = []
    tree = lxml.html.document_fromstring(html)
    for script in tree.iter("script"):
        if not script.get("src") and (script.get("type") or "").lower() not in DATA_BLOCKS:
            problems.append(f"inline script: {lxml.html.tostring(script)[:120]!r}")
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            if name.lower().startswith("on"):
                problems.append(f"event handler {name} on <{element.tag}>")
            if name.lower() == "style":
                problems.append(f"style attribute on <{element.tag}>")
            if name.lower() in ("href", "src", "action", "formaction") and value.strip().lower().startswith(
                    "javascript:"):
                problems.append(f"javascript: URL in {name} of <{element.tag}>")
    if re.search(r"<style[\s>]", html, re.I):
        problems.append("inline <style> element")
    return problems


def test_every_page_sends_the_security_headers_and_obeys_its_csp(acl_app: Flask, acl_site: Site) -> None:
    problems: list[str] = []
    pages = 0
    for role in ("anonymous", "admin"):
        client = client_as(acl_app, role)
        for endpoint, rules in sorted(endpoints(acl_app).items()):
            if endpoint not in POLICY or expected_refusal(POLICY[endpoint], role):
                continue
            for rule in rules:
                if "GET" not in (rule.methods or ()):
                    continue
                path = url(acl_app, rule, acl_site)
                response = client.get(path)
                response.close()
                where = f"GET {path} as {role}"
                for name, value in FIXED.items():
                    if response.headers.get(name) != value:
                        problems.append(f"{where}: {name} is {response.headers.get(name)!r}")
                policy = csp(response.headers.get("Content-Security-Policy", ""))
                for directive, value in CSP_REQUIRED.items():
                    if policy.get(directive) != value:
                        problems.append(f"{where}: CSP {directive} is {policy.get(directive)!r}")
                if any("'unsafe-inline'" in v or "'unsafe-eval'" in v for v in policy.values()):
                    problems.append(f"{where}: CSP allows unsafe-inline/unsafe-eval")
                no_store = "no-store" in response.headers.get("Cache-Control", "")
                if role != "anonymous" and not endpoint.startswith(SESSIONLESS) and not no_store:
                    problems.append(f"{where}: a signed-in page without Cache-Control: no-store")
                if response.mimetype == "text/html" and response.status_code == 200:
                    pages += 1
                    problems += [f"{where}: {p}" for p in page_problems(response.get_data(as_text=True))]
    assert pages >= 10, f"only {pages} HTML pages were checked"
    assert not problems, "\n".join(problems)


def test_error_pages_and_api_errors_carry_the_headers_too(acl_app: Flask) -> None:
    client = acl_app.test_client()
    for path in ("/works/w-does-not-exist", "/api/works/w-does-not-exist", "/review", "/oai?verb=Nonsense"):
        response = client.get(path)
        assert response.headers.get("X-Frame-Options") == "DENY", path
        assert "frame-ancestors 'none'" in response.headers.get("Content-Security-Policy", ""), path
        if response.mimetype == "text/html" and response.status_code == 404:
            assert not page_problems(response.get_data(as_text=True)), path


def test_the_page_check_finds_what_the_csp_would_block() -> None:
    """page_problems is what the test above relies on: it must see each kind of violation."""
    bad = ('<html><head><script>alert(1)</script><style>p{}</style></head><body onload="x()">'
           '<a href="javascript:alert(1)" style="color:red">x</a>'
           '<script type="application/ld+json">{"@context": "https://schema.org"}</script>'
           '<script src="/static/huiju.js"></script></body></html>')
    found = page_problems(bad)
    assert len(found) == 5, found
    assert not page_problems('<html><body><script src="/static/huiju.js" defer></script></body></html>')
