"""The /oai endpoint verb by verb: Identify, formats, sets, GetRecord, errors, POST, compression, 503."""

from __future__ import annotations

import dataclasses
import gzip
import zlib

import pytest
from lxml import etree

from repository.oai.formats import FORMATS
from tests.oai.conftest import NS, Harvest, Pipeline, lesson
from tests.oai.xsd import response_errors

FORMAT_ROOTS = {"oai_dc": "{http://www.openarchives.org/OAI/2.0/oai_dc/}dc", "lom": "{http://ltsc.ieee.org/xsd/LOM}lom",
                "marc21": "{http://www.loc.gov/MARC21/slim}record",
                "lrmi": "{https://huiju.invalid/ns/lrmi-jsonld/1.0}jsonld"}


@pytest.fixture
def repo(pipeline: Pipeline) -> Pipeline:
    """Twelve lessons from national, three of them also from city; national approved, city not."""
    pipeline.load([lesson(n) for n in range(12)] + [lesson(n, "city") for n in (0, 1, 2)]
                  + [lesson(n, "district") for n in (20, 21)])
    pipeline.dedupe()
    pipeline.approve("national")
    return pipeline


def text(root: etree._Element, path: str) -> list[str]:
    return root.xpath(path, namespaces=NS)


def test_identify(repo: Pipeline, harvest: Harvest, make_harvest) -> None:  # noqa: ANN001
    root = harvest(verb="Identify")
    assert text(root, "o:request/@verb") == ["Identify"]
    assert text(root, "o:Identify/o:baseURL/text()") == ["http://localhost/oai"]
    assert text(root, "o:Identify/o:protocolVersion/text()") == ["2.0"]
    assert text(root, "o:Identify/o:adminEmail/text()") == ["oai@huiju.test"]
    assert text(root, "o:Identify/o:deletedRecord/text()") == ["persistent"]
    assert text(root, "o:Identify/o:granularity/text()") == ["YYYY-MM-DDThh:mm:ssZ"]
    assert text(root, "o:Identify/o:compression/text()") == ["gzip", "deflate"]
    stamps = text(harvest(verb="ListIdentifiers", metadataPrefix="oai_dc"), "//o:datestamp/text()")
    assert text(root, "o:Identify/o:earliestDatestamp/text()") == [min(stamps)]
    oai_id = "o:Identify/o:description/i:oai-identifier/i:"
    ns = {**NS, "i": "http://www.openarchives.org/OAI/2.0/oai-identifier"}
    assert root.xpath(oai_id + "repositoryIdentifier/text()", namespaces=ns) == ["huiju.test"]
    assert root.xpath(oai_id + "sampleIdentifier/text()", namespaces=ns)[0].startswith("oai:huiju.test:w")
    assert b'<?xml-stylesheet type="text/xsl" href="/static/oai2.xsl"?>' in harvest.log[-1]
    configured = make_harvest(OAI_BASE_URL="https://huiju.example.edu.cn/oai", OAI_REPOSITORY_NAME="海淀汇聚")
    root = configured(verb="Identify")
    assert text(root, "o:Identify/o:baseURL/text()") == ["https://huiju.example.edu.cn/oai"]
    assert text(root, "o:Identify/o:repositoryName/text()") == ["海淀汇聚"]
    assert text(root, "o:request/text()") == ["https://huiju.example.edu.cn/oai"]


def test_list_metadata_formats(repo: Pipeline, harvest: Harvest, monkeypatch: pytest.MonkeyPatch) -> None:
    root = harvest(verb="ListMetadataFormats")
    assert text(root, "//o:metadataPrefix/text()") == ["oai_dc", "lom", "marc21", "lrmi"]
    assert text(root, "//o:metadataNamespace/text()")[1] == "http://ltsc.ieee.org/xsd/LOM"
    assert "http://localhost/oai/schemas/lrmi-jsonld.xsd" in text(root, "//o:schema/text()")
    work = harvest.oai_id(repo.work_of(lesson(0)))
    assert len(text(harvest(verb="ListMetadataFormats", identifier=work), "//o:metadataPrefix")) == 4
    assert harvest.error(verb="ListMetadataFormats", identifier="oai:huiju.test:wnope") == "idDoesNotExist"
    for prefix, fmt in FORMATS.items():  # every crosswalk failing for this item: no format left

        def broken(record: object) -> etree._Element:
            raise ValueError("cannot map")

        monkeypatch.setitem(FORMATS, prefix, dataclasses.replace(fmt, write=broken))
    assert harvest.error(verb="ListMetadataFormats", identifier=work) == "noMetadataFormats"
    assert harvest.error(verb="GetRecord", identifier=work, metadataPrefix="lom") == "cannotDisseminateFormat"
    page = harvest(verb="ListRecords", metadataPrefix="lom")  # a failing crosswalk never breaks a page
    assert len(text(page, "//o:record/o:header")) == 12 and not text(page, "//o:metadata")


@pytest.mark.parametrize("prefix", list(FORMAT_ROOTS))
def test_get_record_in_every_format(repo: Pipeline, harvest: Harvest, prefix: str) -> None:
    work = repo.work_of(lesson(1))
    root = harvest(verb="GetRecord", identifier=harvest.oai_id(work), metadataPrefix=prefix)
    [payload] = root.xpath("o:GetRecord/o:record/o:metadata/*", namespaces=NS)
    assert payload.tag == FORMAT_ROOTS[prefix]
    assert "subject:physics" in text(root, "//o:header/o:setSpec/text()")
    assert "第1课" in etree.tostring(payload, encoding="unicode")


def test_get_record_errors(repo: Pipeline, harvest: Harvest) -> None:
    work = harvest.oai_id(repo.work_of(lesson(0)))
    assert harvest.error(verb="GetRecord", identifier=work, metadataPrefix="dc") == "cannotDisseminateFormat"
    assert harvest.error(verb="GetRecord", identifier="oai:huiju.test:wnope", metadataPrefix="oai_dc") == \
        "idDoesNotExist"
    other = work.replace("huiju.test", "elsewhere.test")
    assert harvest.error(verb="GetRecord", identifier=other, metadataPrefix="oai_dc") == "idDoesNotExist"
    pending = harvest.oai_id(repo.work_of(lesson(20, "district")))  # only a pending record: not published
    assert harvest.error(verb="GetRecord", identifier=pending, metadataPrefix="oai_dc") == "idDoesNotExist"


def test_list_sets(repo: Pipeline, harvest: Harvest, make_harvest) -> None:  # noqa: ANN001
    root = harvest(verb="ListSets")
    sets = dict(zip(text(root, "//o:setSpec/text()"), text(root, "//o:setName/text()"), strict=True))
    assert sets["subject:math"] == "学科：数学" and sets["grade:8"] == "年级：八年级"
    assert sets["source:national"] == "来源平台：national" and sets["level:national"] == "来源层级：国家级"
    assert sets["edition:pep"] == "教材版本：人教版" and sets["type:micro-lecture"] == "资源类型：微课视频"
    assert "source:district" not in sets  # only sets that hold a published work, plus the seven dimensions
    assert {"level", "stage", "subject", "grade", "edition", "type", "source"} <= set(sets)
    assert len(text(root, "//o:setDescription/*/dc:description")) == len(sets)
    assert text(root, "//o:set[o:setSpec='stage:junior']/o:setDescription//dc:description/text()") == \
        ["学段为初中的资源"]
    assert harvest.error(verb="ListSets", resumptionToken="anything") == "badResumptionToken"
    flat = make_harvest(OAI_SETS=False)
    assert flat.error(verb="ListSets") == "noSetHierarchy"
    assert flat.error(verb="ListRecords", metadataPrefix="oai_dc", set="subject:math") == "noSetHierarchy"
    assert not text(flat(verb="ListIdentifiers", metadataPrefix="oai_dc"), "//o:setSpec")


def test_error_responses_and_request_echo(repo: Pipeline, harvest: Harvest) -> None:
    assert harvest.error() == "badVerb"
    assert harvest.error(verb="Explode") == "badVerb"
    repeated = harvest.app.test_client().get("/oai?verb=Identify&verb=Identify")
    assert b'code="badVerb"' in repeated.data and repeated.status_code == 200
    assert response_errors(repeated.data, harvest.xsd_dir, harvest.ours) == []
    root = harvest(verb="ListRecords", metadataPrefix="oai_dc", bogus="1")
    assert text(root, "o:error/@code") == ["badArgument"]
    assert dict(root.find("o:request", NS).attrib) == {}  # badArgument: base URL only
    assert harvest.error(verb="ListRecords", metadataPrefix="oai_dc", until="2025-01-01T00:00:00") == "badArgument"
    assert harvest.error(verb="ListRecords", metadataPrefix="nope") == "cannotDisseminateFormat"
    root = harvest(verb="ListRecords", metadataPrefix="oai_dc", set="subject:music")
    assert text(root, "o:error/@code") == ["noRecordsMatch"]
    assert dict(root.find("o:request", NS).attrib) == {"verb": "ListRecords", "metadataPrefix": "oai_dc",
                                                        "set": "subject:music"}
    assert harvest.error(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": "2999-01-01"}) == \
        "noRecordsMatch"
    assert harvest.error(verb="ListIdentifiers", resumptionToken="forged.token") == "badResumptionToken"


def test_post_works_like_get(repo: Pipeline, harvest: Harvest) -> None:
    args = {"verb": "ListRecords", "metadataPrefix": "lom", "set": "source:city"}
    got, posted = harvest(**args), harvest("POST", **args)
    for root in (got, posted):
        root.find("o:responseDate", NS).text = "-"
    assert etree.tostring(got) == etree.tostring(posted)
    assert len(text(posted, "//o:record")) == 3
    response = harvest.app.test_client().post("/oai", data="verb=Identify&verb=ListSets",
                                              content_type="application/x-www-form-urlencoded")
    assert b'code="badVerb"' in response.data
    assert response_errors(response.data, harvest.xsd_dir, harvest.ours) == []


def test_gzip_and_deflate_when_asked(repo: Pipeline, harvest: Harvest) -> None:
    plain = harvest.raw(verb="ListRecords", metadataPrefix="oai_dc")
    assert "Content-Encoding" not in plain.headers and plain.headers["Vary"] == "Accept-Encoding"
    assert plain.headers["Content-Type"] == "text/xml; charset=utf-8"
    zipped = harvest.raw(headers={"Accept-Encoding": "gzip"}, verb="ListRecords", metadataPrefix="oai_dc")
    assert zipped.headers["Content-Encoding"] == "gzip" and len(zipped.data) < len(plain.data) / 3
    assert gzip.decompress(zipped.data).split(b"<request")[1] == plain.data.split(b"<request")[1]
    deflated = harvest.raw(headers={"Accept-Encoding": "deflate"}, verb="Identify")
    assert deflated.headers["Content-Encoding"] == "deflate" and zlib.decompress(deflated.data).startswith(b"<?xml")
    refused = harvest.raw(headers={"Accept-Encoding": "gzip;q=0, identity"}, verb="Identify")
    assert "Content-Encoding" not in refused.headers


def test_overload_answers_503_with_retry_after(repo: Pipeline, make_harvest) -> None:  # noqa: ANN001
    harvest = make_harvest(OAI_MAX_CONCURRENT=2, OAI_RETRY_AFTER=7)
    gate = harvest.app.extensions["huiju.oai"].gate
    gate.acquire()
    gate.acquire()  # two requests in flight
    try:
        busy = harvest.raw(verb="Identify")
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "7"
    finally:
        gate.release()
    assert harvest.raw(verb="Identify").status_code == 200  # one slot free again
    gate.release()
    assert harvest.raw(verb="Identify").status_code == 200


def test_own_schemas_are_served(repo: Pipeline, harvest: Harvest) -> None:
    client = harvest.app.test_client()
    for name in ("lrmi-jsonld.xsd", "oai-tombstone.xsd"):
        response = client.get(f"/oai/schemas/{name}")
        assert response.status_code == 200
        etree.XMLSchema(etree.fromstring(response.data))  # a well-formed, loadable schema
    assert client.get("/oai/schemas/nope.xsd").status_code == 404
    with client.get("/static/oai2.xsl") as stylesheet:
        assert stylesheet.status_code == 200 and b"xsl:stylesheet" in stylesheet.data
