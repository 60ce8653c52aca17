"""Validate XML against the official schemas in ../shared/corpus/xsd.

One combined schema imports OAI-PMH, oai_dc, MARC21slim and lomLoose, so an
OAI-PMH response is checked together with the payloads it carries (the
envelope's <metadata> is processed laxly: known namespaces are validated).
Remote schemaLocations are resolved to the local copies; nothing is fetched.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

_REMOTE = {
    "http://dublincore.org/schemas/xmls/simpledc20021212.xsd": "dc/simpledc20021212.xsd",
    "http://www.w3.org/2001/xml.xsd": "dc/xml.xsd",
}

_NAMESPACES = {
    "http://www.w3.org/XML/1998/namespace": "dc/xml.xsd",
    "http://www.openarchives.org/OAI/2.0/": "oai-pmh/OAI-PMH.xsd",
    "http://www.openarchives.org/OAI/2.0/oai_dc/": "oai-pmh/oai_dc.xsd",
    "http://www.loc.gov/MARC21/slim": "marc/MARC21slim.xsd",
    "http://ltsc.ieee.org/xsd/LOM": "ieee-lom/lomLoose.xsd",
}


class _LocalResolver(etree.Resolver):
    def __init__(self, root: Path):
        super().__init__()
        self.root = root

    def resolve(self, url, pubid, context):  # noqa: ANN001 - lxml signature
        if url in _REMOTE:
            return self.resolve_filename(str(self.root / _REMOTE[url]), context)
        return None


@cache
def combined_schema(xsd_root: Path) -> etree.XMLSchema:
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{(xsd_root / path).as_uri()}"/>'
        for ns, path in _NAMESPACES.items()
    )
    wrapper = f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalResolver(xsd_root))
    doc = etree.fromstring(wrapper.encode(), parser, base_url=(xsd_root / "wrapper.xsd").as_uri())
    return etree.XMLSchema(doc)


def validation_errors(document: etree._Element | bytes, xsd_root: Path) -> list[str]:
    """Schema errors of document (element or bytes); [] when valid."""
    if isinstance(document, bytes):
        document = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    schema = combined_schema(xsd_root)
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
