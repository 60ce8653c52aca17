"""Validate our OAI-PMH responses: the official schemas plus the ones for our own XML.

tests/support/xsd.py combines OAI-PMH, oai_dc, MARC21slim and lomLoose. The
envelope's wildcards are processed strictly, so three more schemas are needed
for a response to validate: the official oai-identifier schema (transcribed
in tests/oai/schemas/, absent from the corpus) and the two Huiju publishes at
<baseURL>/schemas/ (the LRMI JSON-LD wrapper and the tombstone about block,
taken from repository/oai/formats.py, i.e. exactly what the provider serves).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

from repository.oai.formats import SCHEMAS, TOMBSTONE_NS, TOMBSTONE_XSD
from schemas.crosswalks.lrmi import JSONLD_XML_NS
from tests.support.xsd import _NAMESPACES, _LocalResolver

HERE = Path(__file__).resolve().parent


@cache
def provider_schema(xsd_root: Path, ours: Path) -> etree.XMLSchema:
    namespaces = {ns: (xsd_root / path).as_uri() for ns, path in _NAMESPACES.items()}
    oai_identifier = HERE / "schemas" / "oai-identifier.xsd"
    namespaces["http://www.openarchives.org/OAI/2.0/oai-identifier"] = oai_identifier.as_uri()
    for ns, name in ((JSONLD_XML_NS, "lrmi-jsonld.xsd"), (TOMBSTONE_NS, TOMBSTONE_XSD)):
        path = ours / name
        path.write_text(SCHEMAS[name], "utf-8")
        namespaces[ns] = path.as_uri()
    imports = "".join(f'<xs:import namespace="{ns}" schemaLocation="{uri}"/>' for ns, uri in namespaces.items())
    wrapper = f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalResolver(xsd_root))
    return etree.XMLSchema(etree.fromstring(wrapper.encode(), parser, base_url=(xsd_root / "wrapper.xsd").as_uri()))


def response_errors(body: bytes, xsd_root: Path, ours: Path) -> list[str]:
    """Schema errors of one OAI-PMH response body; [] when valid."""
    document = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    schema = provider_schema(xsd_root, ours)
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
