"""Huiju's own harvester round-trips the provider into a second, empty instance.

Instance A: the sample federation through the pipeline, one source approved.
Instance B: one `oai` source pointing at A's /oai over a real loopback server,
harvested with harvester.runner, then deduped. B must hold the same works as
A publishes: same count, titles, curriculum and resource types.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import msgspec
import pytest
from werkzeug.serving import make_server

from harvester.runner import harvest_source
from repository.app import create_app
from repository.models import Work
from repository.sample import sample_records
from repository.store import Store
from repository.works import dedupe
from schemas.record import Record
from tests.oai.conftest import Pipeline, settings_for


def signature(record: Record) -> tuple:
    c = record.curriculum
    return (record.title, c.stage and c.stage.code, c.grade, c.subject and c.subject.code,
            c.edition and c.edition.code, c.volume and c.volume.code, c.class_hour,
            record.resource_type and record.resource_type.code)


def published_works(store: Store) -> Counter:
    from sqlalchemy import select

    with store.session() as s:
        rows = s.scalars(select(Work).where(Work.status == "active", Work.published.is_(True))).all()
    return Counter(signature(msgspec.convert(msgspec.json.decode(w.data)["record"], Record)) for w in rows)


@pytest.mark.parametrize("prefix", ["lom", "oai_dc"])
def test_provider_round_trips_into_an_empty_instance(tmp_path: Path, prefix: str) -> None:
    a = Store(f"sqlite:///{tmp_path / 'a.db'}")
    a.init()
    pipeline = Pipeline(a, tmp_path)
    pipeline.load(list(sample_records()))
    pipeline.dedupe()
    pipeline.approve("city")
    expected = published_works(a)
    assert sum(expected.values()) > 50

    app = create_app(settings_for(tmp_path / "a", OAI_PAGE_SIZE=40), store=a)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        b = Store(f"sqlite:///{tmp_path / 'b.db'}")
        b.init()
        b.add_source("district-a", "oai", f"http://127.0.0.1:{server.server_port}/oai",
                     level="municipal", options={"prefix": prefix})
        run = harvest_source(b, "district-a", settings=settings_for(tmp_path / "b", HARVEST_BACKOFF=0.01))
        assert run.status == "succeeded", run.errors
        assert run.pages >= 2  # the token chain was followed
    finally:
        server.shutdown()
        thread.join(10)

    report = dedupe(b, tmp_path / "b-dedup.bin")
    harvested = Counter(signature(r) for _, r, _ in
                        ((w, msgspec.convert(msgspec.json.decode(w.data)["record"], Record), m)
                         for w, _, m in b.iter_works()))
    assert report.works == sum(expected.values())
    if prefix == "lom":  # LOM carries the whole curriculum and our type label
        assert harvested == expected
    else:  # DC carries the curriculum as subjects; compare what it can carry
        assert Counter(s[:5] for s in harvested.elements()) == Counter(s[:5] for s in expected.elements())
