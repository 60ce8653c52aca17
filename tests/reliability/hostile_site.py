"""A small published site whose records carry hostile text, built through the real pipeline.

oai_dc XML → crosswalk → store_results → dedupe → reindex, every work
published and a curator account added; shared by the web and query cases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import update
from werkzeug.security import generate_password_hash

from repository.app import create_app
from repository.ingest import ensure_source, store_results
from repository.models import User, Work
from repository.search import open_backend, reindex
from repository.settings import Settings
from repository.store import Store
from repository.views.browse import close_backend
from repository.works import dedupe
from schemas.crosswalks import reader

PASSWORD = "hostile web 123"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
URLS = ["javascript:alert(1)", " JaVaScRiPt:alert(2)", "java\tscript:alert(3)", "vbscript:msgbox(4)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCg1KTwvc2NyaXB0Pg==", "//evil.example/x",
        "http://ok.example/a\" onmouseover=\"alert(6)"]


def oai_dc(n: int, title: str, description: str, url: str, extra: str = "") -> str:
    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    return (
        f'<record xmlns="http://www.openarchives.org/OAI/2.0/"><header><identifier>hostile-{n}</identifier>'
        "<datestamp>2024-01-01</datestamp></header><metadata>"
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{esc(title)}</dc:title><dc:description>{esc(description)}</dc:description>"
        f"<dc:identifier>{esc(url)}</dc:identifier><dc:subject>数学</dc:subject><dc:subject>八年级</dc:subject>"
        f"<dc:type>课件</dc:type><dc:creator>{esc('<img src=x onerror=alert(7)>王老师')}</dc:creator>{extra}"
        "</oai_dc:dc></metadata></record>"
    )


HOSTILE = [
    ("勾股定理<script>alert(1)</script>恶意", '<script src="//evil.example/x.js"></script>简介'),
    ("勾股定理 \u202eexe.文课\u202c 反向",
     "简介\u2067隔离\u2069<style>body{background:url(javascript:alert(8))}</style>"),
    ('勾股定理" style="background:url(javascript:alert(9))',
     '" onmouseover="alert(10)" x="</textarea><svg onload=alert(11)>'),
    ("勾股定理 expression(alert(12))", "}</style><style>*{color:expression(alert(13))}</style>"),
]
GOOD = ("勾股定理 正常课件", "正常的简介")


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Store, Path]]:
    root = Path(tmp_path_factory.mktemp("hostile-web"))
    settings = Settings(environ={}, INSTANCE_PATH=str(root))
    store = Store(settings.database_url)
    store.init()
    items = [oai_dc(n, title, description, URLS[n % len(URLS)],
                    extra=f"<dc:relation>{URLS[(n + 1) % len(URLS)]}</dc:relation>")
             for n, (title, description) in enumerate(HOSTILE)]
    items += [oai_dc(90 + n, title, description, url) for n, (title, description, url)
              in enumerate([(*GOOD, "https://example.org/good"), *[("勾股定理 链接" + str(i), "简介", url)
                                                                 for i, url in enumerate(URLS)]])]
    page = ('<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>' + "".join(items)
            + "</ListRecords></OAI-PMH>").encode()
    source = ensure_source(store, "hostile", kind="oai", location="http://127.0.0.1/oai", level="school")
    store.update_source("hostile", options={"label": "<b>恶意平台</b><script>alert(14)</script>\u202e"})
    report = store_results(store, source, reader("oai_dc")(page, source="hostile"))
    assert report.rejected == 0 and report.added == len(items), report.summary()
    dedupe(store, root / "dedup" / "state.bin")
    with store.session(write=True) as s:
        s.execute(update(Work).values(published=True, ever_published=True))
        s.add(User(username="cura", password_hash=generate_password_hash(PASSWORD), role="curator"))
    with open_backend(settings) as backend:
        reindex(store, backend)
    yield settings, store, root
    store.close()


@pytest.fixture(scope="module")
def hostile_app(hostile_site: tuple[Settings, Store, Path]) -> Iterator[Flask]:
    settings, store, root = hostile_site
    # OAI_COMMIT_LAG=0: the works were written a moment ago; the default lag would hide them from OAI-PMH
    application = create_app(Settings(environ={}, INSTANCE_PATH=str(root), OAI_COMMIT_LAG=0), store=store)
    application.config.update(TESTING=True)
    yield application
    close_backend(application)


