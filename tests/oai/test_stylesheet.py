"""web/static/oai2.xsl turns every kind of response into a readable HTML page."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from repository.app import WEB_ROOT
from tests.oai.conftest import Harvest, Pipeline, lesson

XSL = etree.XSLT(etree.parse(str(Path(WEB_ROOT) / "static" / "oai2.xsl")))


def page(root: etree._Element) -> str:
    return str(XSL(root))


def test_pages_for_each_verb_and_errors(pipeline: Pipeline, make_harvest) -> None:  # noqa: ANN001
    pipeline.load([lesson(n) for n in range(3)] + [lesson(0, "city")])
    pipeline.dedupe()
    pipeline.approve("national")
    pipeline.review([lesson(2)], "rejected")
    harvest: Harvest = make_harvest(OAI_PAGE_SIZE=2)
    identify = page(harvest(verb="Identify"))
    assert "<html" in identify and "persistent" in identify and "oai:huiju.test:w" in identify
    assert 'href="/static/huiju.css"' in identify and "<style" not in identify and "<script" not in identify
    records = page(harvest(verb="ListRecords", metadataPrefix="oai_dc"))
    assert "第0课" in records and "下一页" in records and "resumptionToken=" in records and "共 3 条" in records
    lom = page(harvest(verb="ListRecords", metadataPrefix="lom", set="subject:math"))
    assert "&lt;lom&gt;" in lom and "第0课" in lom
    withdrawn = harvest.oai_id(pipeline.work_of(lesson(2)))
    tomb = page(harvest(verb="GetRecord", metadataPrefix="oai_dc", identifier=withdrawn))
    assert "deleted 已删除" in tomb and "withdrawn" in tomb
    sets = page(harvest(verb="ListSets"))
    assert "学科：数学" in sets and "set=subject:math" in sets
    formats = page(harvest(verb="ListMetadataFormats"))
    assert "marc21" in formats and "lrmi-jsonld.xsd" in formats
    error = page(harvest(verb="Nope"))
    assert "badVerb" in error
