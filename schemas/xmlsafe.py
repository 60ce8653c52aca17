"""The one way Huiju parses XML: no external entities, no DTD or network
fetches, no entity expansion bombs, bounded size.

lxml's defaults resolve internal entities and allow huge trees to be
refused only by libxml2 limits; we switch off everything a hostile source
could use (XXE, billion laughs, DTD fetches).
"""

from __future__ import annotations

import re

from lxml import etree

from schemas.errors import CrosswalkError

MAX_XML_BYTES = 64 * 1024 * 1024
REFUSED_ENTITIES = "XML declares entities in a DTD (refused: XXE / entity expansion)"
_ENTITY_DECLARATION = re.compile(rb"<!DOCTYPE[^\[>]*\[[^\]]*?<!ENTITY", re.S)


def _parser(recover: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        recover=recover,
    )


def parse_xml(data: bytes, *, max_bytes: int = MAX_XML_BYTES, recover: bool = False) -> etree._Element:
    """Parse bytes into an element, refusing DTD entity declarations.

    Raises CrosswalkError with a one-line reason on anything unsafe or
    malformed.
    """
    if len(data) > max_bytes:
        raise CrosswalkError(f"XML payload of {len(data)} bytes exceeds the {max_bytes}-byte limit")
    doctype = data.find(b"<!DOCTYPE", 0, 1 << 16)
    if doctype >= 0 and _ENTITY_DECLARATION.match(data, doctype):
        raise CrosswalkError(REFUSED_ENTITIES)  # before libxml2 expands anything (laughs, quadratic blowup)
    try:
        root = etree.fromstring(data, _parser(recover))
    except etree.XMLSyntaxError as exc:
        raise CrosswalkError(f"malformed XML: {exc}") from None
    if root is None:
        raise CrosswalkError("malformed XML: no root element")
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None and _declares_entities(root):
        raise CrosswalkError(REFUSED_ENTITIES)
    return root


def _declares_entities(root: etree._Element) -> bool:
    dtd = root.getroottree().docinfo.internalDTD
    return dtd is not None and any(True for _ in dtd.iterentities())


def local_name(element: etree._Element) -> str:
    """Tag without namespace; '' for comments and processing instructions."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]
