"""The metadata formats the provider disseminates, and the XSDs of our own XML.

Every work is available in every format (the crosswalks write any Record).
Two XML vocabularies are Huiju's own and have no official schema, so we
publish one for each at <baseURL>/schemas/<file> (served by the view):

* ``lrmi``: schema.org/LRMI JSON-LD text inside <lrmi:jsonld> (see
  schemas/crosswalks/lrmi.py for the mapping and the namespace choice);
* the <about> block of a tombstone, <tombstone> in TOMBSTONE_NS: why the
  work is gone (merged | withdrawn | deleted) and, when merged, the OAI
  identifier of the work that replaces it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from schemas.crosswalks import writer
from schemas.crosswalks.lrmi import JSONLD_XML_NS
from schemas.crosswalks.lrmi import write_xml as lrmi_xml
from schemas.record import Record

TOMBSTONE_NS = "https://huiju.invalid/ns/oai-tombstone/1.0"
TOMBSTONE_XSD = "oai-tombstone.xsd"


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    namespace: str
    schema: str  # absolute URL, or a file name under <baseURL>/schemas/
    write: Callable[[Record], etree._Element | None]

    def schema_url(self, base_url: str) -> str:
        return self.schema if "://" in self.schema else f"{base_url}/schemas/{self.schema}"


FORMATS: dict[str, MetadataFormat] = {
    "oai_dc": MetadataFormat("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc/",
                             "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", writer("oai_dc")),
    "lom": MetadataFormat("lom", "http://ltsc.ieee.org/xsd/LOM",
                          "http://ltsc.ieee.org/xsd/lomv1.0/lomLoose.xsd", writer("lom")),
    "marc21": MetadataFormat("marc21", "http://www.loc.gov/MARC21/slim",
                             "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", writer("marcxml")),
    "lrmi": MetadataFormat("lrmi", JSONLD_XML_NS, "lrmi-jsonld.xsd", lrmi_xml),
}

SCHEMAS: dict[str, str] = {
    "lrmi-jsonld.xsd": f"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{JSONLD_XML_NS}"
           elementFormDefault="qualified">
  <xs:annotation><xs:documentation xml:lang="en">Huiju's wrapper for schema.org/LRMI JSON-LD in OAI-PMH:
    the element's text is one JSON-LD object (application/ld+json) describing the resource.
  </xs:documentation></xs:annotation>
  <xs:element name="jsonld" type="xs:string"/>
</xs:schema>
""",
    TOMBSTONE_XSD: f"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{TOMBSTONE_NS}"
           xmlns:t="{TOMBSTONE_NS}" elementFormDefault="qualified">
  <xs:annotation><xs:documentation xml:lang="en">Carried in the about block of a deleted OAI-PMH record
    of Huiju: why the work is gone and, for a work merged into another, the OAI identifier of its
    successor (which may itself be merged later: follow the chain).
  </xs:documentation></xs:annotation>
  <xs:element name="tombstone">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="reason">
          <xs:simpleType>
            <xs:restriction base="xs:string">
              <xs:enumeration value="merged"/>
              <xs:enumeration value="withdrawn"/>
              <xs:enumeration value="deleted"/>
            </xs:restriction>
          </xs:simpleType>
        </xs:element>
        <xs:element name="successor" type="xs:anyURI" minOccurs="0"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
""",
}
