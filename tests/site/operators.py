"""A small instance for the operator pages (dashboard, admin): sources in every state, runs, records at
two levels in every review status, works, review decisions, quarantine entries with hostile text.

Built through the real store API and the real dedupe; used by test_dashboard.py and test_admin.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from werkzeug.security import generate_password_hash

from repository.db import utcnow
from repository.ingest import store_results
from repository.models import RecordRow, User
from repository.publication import set_review_status
from repository.settings import Settings
from repository.store import Store
from repository.works import dedupe
from schemas.record import Identifier, Record
from tests.site.conftest import _app

PASSWORD = "operator password 1"
EVIL_NAME = '<script>alert("src")</script>'
EVIL_REASON = '<script>alert("reason")</script> bad XML'
EVIL_RAW = b'<script>alert("raw")</script>\x00\xff' + b"x" * 20_000
EXTRA_RUNS = 52


@dataclass
class Ops:
    root: Path
    settings: Settings
    store: Store
    raw_entry: int
    empty_entry: int
    records: dict[str, list[str]]


def _record(source: str, n: int, shared: str | None = None) -> Record:
    ids = [Identifier(scheme="smartedu", value=shared)] if shared else []
    return Record(source=source, source_record_id=f"{source}-{n}", title=f"第{n}课 {source}", identifiers=ids)


def build(root: Path, store: Store | None = None) -> Ops:
    """The instance in ``root`` (SQLite), or in ``store`` (PostgreSQL) with ``root`` for the dedup state."""
    settings = Settings(environ={}, INSTANCE_PATH=str(root))
    store = store or Store(settings.database_url)
    store.init()
    city = store.add_source("city", "oai", "https://city.example/oai", level="municipal", schedule="0 3 * * *")
    evil = store.add_source(EVIL_NAME, "file", "", level="school")
    store.add_source("off", "oai", "https://off.example/oai", level="district", enabled=False)
    records = {}
    for source, count in ((city, 4), (evil, 2)):
        run = store.start_run(source.name)
        batch = [_record(source.name, n, shared="shared-1" if n == 0 else None) for n in range(count)]
        store_results(store, source, batch, run=run, level=source.level)
        store.finish_run(run, "succeeded" if source is city else "failed", {"added": count},
                         message=None if source is city else f"{EVIL_NAME} failed")
        records[source.name] = [r.id for r in batch]
    for n in range(EXTRA_RUNS):
        run = store.start_run("off")
        store.finish_run(run, "succeeded", {"unchanged": n})
    dedupe(store, root / "dedup" / "state.bin")
    set_review_status(store, [records["city"][1]], "approved", actor="cur")
    set_review_status(store, [records["city"][2]], "rejected", actor="cur")
    with store.session(write=True) as s:  # one pending record has waited 40 days
        s.execute(update(RecordRow).where(RecordRow.id == records["city"][3])
                  .values(datestamp=utcnow() - timedelta(days=40)))
        for name, role in (("cur", "curator"), ("adm", "admin")):
            s.add(User(username=name, password_hash=generate_password_hash(PASSWORD), role=role))
    raw_entry = store.quarantine("city", None, "parse", EVIL_REASON, f"page 3 {EVIL_NAME}", EVIL_RAW).id
    empty_entry = store.quarantine(None, None, "fetch", "timeout", "https://city.example/oai?verb=x").id
    return Ops(root, settings, store, raw_entry, empty_entry, records)


def make_app(ops: Ops, **overrides: object) -> Iterator[Flask]:
    """The site's test app over this instance (what tests.site.conftest._app does for a Site)."""
    yield from _app(ops, **overrides)  # type: ignore[arg-type] - it reads only .root and .store


def token(client: FlaskClient, url: str = "/login") -> str:
    html = client.get(url).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def signed_in(app: Flask, name: str, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": name, "password": password, "csrf_token": token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client
