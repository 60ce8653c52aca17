"""Harvesting semantics: from/until, granularity, token chains, deletions, changes mid-harvest."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from repository.models import Work
from repository.oai.tokens import TokenCodec
from repository.works import open_works_engine
from tests.oai.conftest import BACKENDS, NS, Harvest, Pipeline, lesson

PAGE = 5


def headers(harvest: Harvest, **args: str) -> list[etree._Element]:
    return [h for page in harvest.pages("ListIdentifiers", metadataPrefix="oai_dc", **args)
            for h in page.xpath("o:ListIdentifiers/o:header", namespaces=NS)]


def stamp_of(header: etree._Element) -> str:
    return header.findtext("o:datestamp", namespaces=NS)


def parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def fmt(value: datetime, day: bool = False) -> str:
    return value.strftime("%Y-%m-%d" if day else "%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_from_until_inclusive_in_both_granularities(pipeline: Pipeline, harvest: Harvest) -> None:
    pipeline.load([lesson(n) for n in range(3)])
    pipeline.dedupe()
    pipeline.approve("national")
    time.sleep(1.05)  # a second later, so the second batch has later datestamps
    pipeline.load([lesson(n) for n in range(3, 6)])
    pipeline.dedupe()
    pipeline.approve("national")
    everything = headers(harvest)
    assert len(everything) == 6
    target = everything[-1]
    own = stamp_of(target)
    ident = target.findtext("o:identifier", namespaces=NS)
    moment = parse(own)

    def ids(**args: str) -> set[str]:
        return {h.findtext("o:identifier", namespaces=NS) for h in headers(harvest, **args)}

    assert ident in ids(**{"from": own, "until": own})  # the record's own datestamp, both ends inclusive
    assert ident in ids(**{"from": own}) and ident in ids(until=own)
    assert ident not in ids(**{"from": fmt(moment + timedelta(seconds=1))})
    assert ident not in ids(until=fmt(moment - timedelta(seconds=1)))
    day = fmt(moment, day=True)
    assert ident in ids(**{"from": day, "until": day})
    assert ids(**{"from": fmt(moment + timedelta(days=1), day=True)}) == set()
    first = stamp_of(everything[0])
    assert {h.findtext("o:identifier", namespaces=NS) for h in everything[:3]} == ids(until=first)
    earliest = harvest(verb="Identify").findtext("o:Identify/o:earliestDatestamp", namespaces=NS)
    before = fmt(parse(earliest) - timedelta(days=1), day=True)
    assert harvest.error(verb="ListRecords", metadataPrefix="oai_dc", until=before) == "noRecordsMatch"
    assert harvest.error(verb="ListRecords", metadataPrefix="oai_dc", **{"from": day},
                         until=fmt(moment)) == "badArgument"  # mixed granularity
    assert harvest.error(verb="ListRecords", metadataPrefix="oai_dc", **{"from": own},
                         until=fmt(moment - timedelta(seconds=1))) == "badArgument"  # from > until
    assert harvest(verb="Identify").findtext("o:responseDate", namespaces=NS).endswith("Z")


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
@pytest.mark.parametrize("verb", ["ListIdentifiers", "ListRecords"])
def test_token_chain_over_exactly_k_pages(pipeline: Pipeline, make_harvest, verb: str) -> None:  # noqa: ANN001
    pipeline.load([lesson(n) for n in range(3 * PAGE)])
    pipeline.dedupe()
    pipeline.approve("national")
    harvest = make_harvest(OAI_PAGE_SIZE=PAGE)
    pages = list(harvest.pages(verb, metadataPrefix="oai_dc"))
    assert len(pages) == 3
    tokens = [page.find(f"o:{verb}/o:resumptionToken", NS) for page in pages]
    assert [t.get("cursor") for t in tokens] == ["0", "5", "10"]
    assert {t.get("completeListSize") for t in tokens} == {"15"}
    assert tokens[0].text and tokens[1].text and tokens[0].get("expirationDate")
    assert tokens[2].text is None and tokens[2].get("expirationDate") is None  # the last page: empty token
    expires = parse(tokens[0].get("expirationDate"))
    assert expires - datetime.now(UTC) > timedelta(hours=23, minutes=59)
    ids = [i for page in pages for i in page.xpath("//o:header/o:identifier/text()", namespaces=NS)]
    assert len(ids) == len(set(ids)) == 3 * PAGE
    stamps = [stamp_of(h) for page in pages for h in page.iter(f"{{{NS['o']}}}header")]
    assert stamps == sorted(stamps)
    one_page = make_harvest(OAI_PAGE_SIZE=3 * PAGE)
    [single] = list(one_page.pages(verb, metadataPrefix="oai_dc"))
    assert single.find(f"o:{verb}/o:resumptionToken", NS) is None  # a list that fits one page has none
    assert len(single.xpath("//o:header", namespaces=NS)) == 3 * PAGE
    math = list(harvest.pages(verb, metadataPrefix="oai_dc", set="subject:math"))  # n % 3 == 0: five works
    assert len(math) == 1 and math[0].find(f"o:{verb}/o:resumptionToken", NS) is None


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_deletions_reach_an_incremental_harvest(pipeline: Pipeline, harvest: Harvest) -> None:
    records = [lesson(n) for n in range(6)]
    pipeline.load(records + [lesson(5, "city")])
    pipeline.dedupe()
    pipeline.approve("national")
    first = harvest(verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert len(first.xpath("//o:header", namespaces=NS)) == 6
    since = first.findtext("o:responseDate", namespaces=NS)
    withdrawn, merged, survivor, gone = (pipeline.work_of(records[i]) for i in (0, 1, 2, 3))

    pipeline.review([records[0]], "rejected")  # its only member rejected: withdrawn
    engine = open_works_engine(pipeline.store, pipeline.tmp / "dedup.bin")
    engine.merge(records[1].id, records[2].id, curator="curator")  # a curator merges two works
    engine.save()
    pipeline.load([lesson(3, deleted=True)])  # the source deleted the only member
    pipeline.dedupe()

    later = {h.findtext("o:identifier", namespaces=NS): h for h in headers(harvest, **{"from": since})}
    oai = harvest.oai_id
    for work in (withdrawn, gone):
        assert later[oai(work)].get("status") == "deleted"
    with pipeline.store.session() as session:
        statuses = {w: session.get(Work, w).status for w in (merged, survivor)}
    dead, live = sorted((merged, survivor), key=lambda w: statuses[w] == "active")
    assert sorted(statuses.values()) == ["active", "merged"]
    assert later[oai(dead)].get("status") == "deleted" and later[oai(live)].get("status") is None
    record = harvest(verb="GetRecord", identifier=oai(dead), metadataPrefix="oai_dc")
    assert record.xpath("//t:tombstone/t:reason/text()", namespaces=NS) == ["merged"]
    assert record.xpath("//t:tombstone/t:successor/text()", namespaces=NS) == [oai(live)]
    assert not record.xpath("//o:metadata", namespaces=NS)
    reasons = {w: harvest(verb="GetRecord", identifier=oai(w), metadataPrefix="lom")
               .xpath("//t:reason/text()", namespaces=NS) for w in (withdrawn, gone)}
    assert reasons == {withdrawn: ["withdrawn"], gone: ["deleted"]}
    # persistent: still there after further runs, and in a full harvest
    pipeline.dedupe()
    everything = {h.findtext("o:identifier", namespaces=NS): h.get("status") for h in headers(harvest)}
    assert {everything[oai(w)] for w in (withdrawn, gone, dead)} == {"deleted"}
    # set harvests see the deletions too (tombstones keep their sets)
    in_set = {h.findtext("o:identifier", namespaces=NS): h.get("status")
              for h in headers(harvest, set="source:national", **{"from": since})}
    assert in_set[oai(withdrawn)] == "deleted" and in_set[oai(gone)] == "deleted"


def test_a_change_mid_harvest_is_neither_skipped_nor_repeated(pipeline: Pipeline, make_harvest) -> None:  # noqa: ANN001
    records = [lesson(n) for n in range(3 * PAGE)]
    pipeline.load(records)
    pipeline.dedupe()
    pipeline.approve("national")
    harvest = make_harvest(OAI_PAGE_SIZE=PAGE)
    page = harvest(verb="ListRecords", metadataPrefix="oai_dc")
    seen = [h.findtext("o:identifier", namespaces=NS) for h in page.iter(f"{{{NS['o']}}}header")]
    by_work = {harvest.oai_id(pipeline.work_of(r)): n for n, r in enumerate(records)}
    order = sorted(by_work)  # published together: one datestamp, so (datestamp, id) order is id order
    assert seen == order[:PAGE]
    ahead, delivered = by_work[order[12]], by_work[order[0]]  # on page 3, not yet sent; sent on page 1
    time.sleep(1.05)
    pipeline.load([lesson(ahead, description="改过的说明：第三页的课"),
                   lesson(delivered, description="改过的说明：第一页的课")])
    pipeline.dedupe()
    token = page.findtext("o:ListRecords/o:resumptionToken", namespaces=NS)
    while token:
        page = harvest(verb="ListRecords", resumptionToken=token)
        seen += [h.findtext("o:identifier", namespaces=NS) for h in page.iter(f"{{{NS['o']}}}header")]
        token = page.findtext("o:ListRecords/o:resumptionToken", namespaces=NS)
    counts = Counter(seen)
    assert set(counts) == set(order)  # nothing skipped, the changed items included
    assert counts[order[12]] == 1  # it moved past the cursor: sent once, in its new version
    assert counts[order[0]] == 2  # sent again, as its new version (a new datestamp: a new version, not a repeat)
    assert sum(counts.values()) == 3 * PAGE + 1
    assert "改过的说明：第三页的课" in b"".join(harvest.log).decode()


def test_bad_tokens_over_http(pipeline: Pipeline, make_harvest) -> None:  # noqa: ANN001
    pipeline.load([lesson(n) for n in range(2 * PAGE)])
    pipeline.dedupe()
    pipeline.approve("national")
    harvest = make_harvest(OAI_PAGE_SIZE=PAGE)
    token = harvest(verb="ListRecords", metadataPrefix="oai_dc").findtext("o:ListRecords/o:resumptionToken",
                                                                          namespaces=NS)
    i = len(token) // 2
    tampered = token[:i] + ("x" if token[i] != "x" else "y") + token[i + 1:]
    assert harvest.error(verb="ListRecords", resumptionToken=tampered) == "badResumptionToken"
    assert harvest.error(verb="ListIdentifiers", resumptionToken=token) == "badResumptionToken"
    other = make_harvest(OAI_PAGE_SIZE=PAGE, SECRET_KEY="another-secret")
    assert other.error(verb="ListRecords", resumptionToken=token) == "badResumptionToken"
    provider = harvest.app.extensions["huiju.oai"]
    old = TokenCodec("test-secret", 86400, clock=lambda: time.time() - 86400 - 5)  # minted yesterday
    stale = old.dump(provider.codec.load(token, "ListRecords"))[0]
    root = harvest(verb="ListRecords", resumptionToken=stale)
    assert root.xpath("o:error/@code", namespaces=NS) == ["badResumptionToken"]
    assert "expired" in root.findtext("o:error", namespaces=NS)
    assert len(harvest(verb="ListRecords", resumptionToken=token).xpath("//o:record", namespaces=NS)) == PAGE


def test_recent_changes_wait_for_the_commit_lag(pipeline: Pipeline, make_harvest) -> None:  # noqa: ANN001
    pipeline.load([lesson(1)])
    pipeline.dedupe()
    pipeline.approve("national")
    lagging = make_harvest(OAI_COMMIT_LAG=3600)
    assert lagging.error(verb="ListIdentifiers", metadataPrefix="oai_dc") == "noRecordsMatch"
    work = lagging.oai_id(pipeline.work_of(lesson(1)))
    assert lagging(verb="GetRecord", identifier=work, metadataPrefix="oai_dc").find("o:GetRecord", NS) is not None
    assert len(headers(make_harvest(OAI_COMMIT_LAG=0))) == 1
