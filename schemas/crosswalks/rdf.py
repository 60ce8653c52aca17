"""RDF descriptions (Turtle, N-Triples, RDF/XML, JSON-LD) → Record, via rdflib.

The syntax is sniffed from the bytes. Every subject typed as a creative work
(schema.org LearningResource, CreativeWork, Course, VideoObject …, LRMI
LearningResource, DCMI Type Text/MovingImage …) is mapped, and so is any
subject with a title (dc:title, dcterms:title, schema:name) plus an
educational property (dcterms:educationLevel/audience, LRMI/schema.org
learningResourceType, educationalAlignment …) or a dc:type. Properties are
reduced to schema.org names and mapped by lrmi_map.record_from_node, so RDF
and JSON-LD agree field by field. A file that only holds vocabularies (SKOS
concept schemes, RDFS/OWL term lists such as the DCMI files) gives one
Rejected("no resource descriptions: …").

Safety: RDF/XML goes through xmlsafe.parse_xml and is fed to rdflib's
RDF/XML handler as SAX events (lxml.sax), so rdflib never parses XML itself.
A DTD that only declares literal namespace entities (the DCMI files'
<!ENTITY dcns '…'>) is expanded textually first, within a size budget.
JSON-LD never triggers a fetch: the schema.org context is known by heart
(it is @vocab in effect); any other remote @context (or @import) is refused
before parsing, and the rdflib context used refuses any fetch as well.
Graph walks are depth-limited with a visited set, so cycles cannot loop.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from functools import lru_cache
from operator import itemgetter
from typing import Any

import msgspec
import pyoxigraph
from lxml import sax as lxml_sax
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DC, DCTERMS, OWL, RDF, RDFS, SKOS
from rdflib.plugins.parsers.jsonld import Parser as JsonLdParser
from rdflib.plugins.parsers.rdfxml import RDFXMLHandler
from rdflib.plugins.shared.jsonld.context import Context

from schemas.crosswalks import ReadResult, Rejected
from schemas.crosswalks.lrmi import HTML_TAGS
from schemas.crosswalks.lrmi_map import (
    EDU_PROPS,
    LOCAL_NS,
    RESOURCE_TYPES,
    SCHEMA_NS,
    Node,
    lit,
    record_from_node,
    term_key,
)
from schemas.errors import CrosswalkError
from schemas.xmlsafe import MAX_XML_BYTES, local_name, parse_xml

DCMITYPE = "http://purl.org/dc/dcmitype/"
RESOURCE_CLASSES = frozenset(
    {URIRef(ns + name) for ns in SCHEMA_NS for name in RESOURCE_TYPES}
    | {
        URIRef(DCMITYPE + n)
        for n in ("Text", "MovingImage", "Sound", "InteractiveResource", "Image", "StillImage")
    }
    | {URIRef("http://purl.org/dcx/lrmi-terms/LearningResource")}
)
VOCAB_CLASSES = frozenset(
    {
        SKOS.Concept,
        SKOS.ConceptScheme,
        SKOS.Collection,
        RDFS.Class,
        RDF.Property,
        OWL.Class,
        OWL.ObjectProperty,
        OWL.DatatypeProperty,
        OWL.AnnotationProperty,
        OWL.Ontology,
        RDFS.Datatype,
    }
)
PROPERTY_CLASSES = (RDF.Property, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
TITLE_PREDICATES = frozenset({DC.title, DCTERMS.title} | {URIRef(ns + "name") for ns in SCHEMA_NS})
EDU_PREDICATES = frozenset(
    {DCTERMS.educationLevel, DCTERMS.audience, DCTERMS.instructionalMethod, DC.type, DCTERMS.type}
    | {URIRef(ns + p) for ns in LOCAL_NS[:4] for p in EDU_PROPS}
)
MAX_NESTING = 2
RDF_TYPE, RDF_FIRST, RDF_REST, RDF_NIL = RDF.type, RDF.first, RDF.rest, RDF.nil  # Namespace attributes cost a call
_ENTITY = re.compile(r"""<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(["'])([^"'&%<]{0,1000})\2\s*>""")
_DOCTYPE = re.compile(r"<!DOCTYPE\s+[\w:.-]+\s*\[(.*?)\]\s*>", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_NT_LINE = re.compile(rb"^\s*(<[^>\s]*>|_:\S+)\s+<[^>\s]*>\s+.+\.\s*$")


class RemoteContextError(Exception):
    """A JSON-LD document wanted a remote context; we never fetch one."""


def read(data: bytes, *, source: str) -> Iterator[ReadResult]:
    """Records for every learning-resource subject in the graph."""
    try:
        triples = _parse(data.removeprefix(b"\xef\xbb\xbf"))
    except CrosswalkError as exc:
        yield Rejected(reason=exc.reason, stage="parse")
        return
    except RecursionError:
        yield Rejected(reason="payload nested too deeply", stage="parse")
        return
    subjects = _resources(triples)
    if not subjects:
        yield Rejected(reason=f"no resource descriptions: {_what(triples.graph())}")
        return
    for subject in subjects:
        node = _node(triples, subject, 0, frozenset())
        yield record_from_node(node, source=source, locator=str(subject))


def _same(term: Any, iri: URIRef) -> bool:
    """term == iri as rdflib decides it for IRIs and blank nodes (same type, same string), without its
    Python-level __eq__ (the walk compares predicates hundreds of times per record)."""
    return type(term) is type(iri) and str.__eq__(term, iri)


class Triples:
    """A parsed graph as subject → {(predicate, object)}: the mapping walks each subject's
    properties many times, and a dict costs far less to walk than an rdflib store query."""

    def __init__(self) -> None:
        self.by_subject: dict[Any, dict[tuple[Any, Any], None]] = {}

    @classmethod
    def of(cls, graph: Graph) -> Triples:
        triples = cls()
        for triple in graph.triples((None, None, None)):
            triples.add(triple)
        return triples

    def add(self, triple: tuple[Any, Any, Any]) -> None:
        subject, predicate, obj = triple
        properties = self.by_subject.get(subject)
        if properties is None:
            properties = self.by_subject[subject] = {}
        properties[(predicate, obj)] = None  # a dict, not a list: a triple counts once, as in a graph

    def pairs(self, subject: Any) -> dict[tuple[Any, Any], None]:
        return self.by_subject.get(subject, {})

    def objects(self, subject: Any, predicate: Any) -> list[Any]:
        return [o for p, o in self.pairs(subject) if _same(p, predicate)]

    def value(self, subject: Any, predicate: Any) -> Any:
        return next((o for p, o in self.pairs(subject) if _same(p, predicate)), None)

    def graph(self) -> Graph:
        """An rdflib graph of the same triples (for the rare no-resource explanation)."""
        graph = Graph()
        for subject, properties in self.by_subject.items():
            for predicate, obj in properties:
                graph.add((subject, predicate, obj))
        return graph


class _Collector(Graph):
    """A graph rdflib's Turtle / N-Triples parsers fill straight into a Triples (no store indexes)."""

    def __init__(self) -> None:
        super().__init__()
        self.collected = Triples()

    def add(self, triple: tuple[Any, Any, Any]) -> _Collector:  # type: ignore[override]
        self.collected.add(triple)
        return self


# ---------------------------------------------------------------- parsing


def _syntax(data: bytes) -> str:
    head = data[:4096].lstrip()
    if head[:1] in (b"{", b"["):
        return "json-ld"
    if head[:1] == b"<":
        tag = re.search(rb"<([A-Za-z][\w:.-]*)", head)
        if head[:14].lower() == b"<!doctype html" or (tag and tag.group(1).lower() in HTML_TAGS):
            return "html"
        if head[:2] in (b"<?", b"<!") or not re.match(rb"<[^\s<>]*>\s*(<|_:|\"|[\w-]*:|a\s)", head):
            return "xml"
    first = next((ln for ln in head.splitlines() if ln.strip() and not ln.lstrip().startswith(b"#")), b"")
    return "nt" if _NT_LINE.match(first) else "turtle"


def _parse(data: bytes) -> Triples:
    syntax = _syntax(data)
    if syntax == "html":
        raise CrosswalkError("HTML page, not RDF (the lrmi reader extracts RDFa and JSON-LD from pages)")
    if syntax == "xml":
        return Triples.of(_parse_rdfxml(data))
    if syntax == "json-ld":
        try:
            doc = msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise CrosswalkError(f"invalid JSON: {exc}") from None
        return Triples.of(_parse_jsonld(doc))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CrosswalkError(f"{syntax} is not UTF-8: {exc}") from None
    fast = _parse_oxigraph(data, syntax)
    if fast is not None:
        return fast
    for fmt in (syntax, "turtle") if syntax == "nt" else (syntax,):
        graph = _Collector()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                graph.parse(data=text, format=fmt)
            return graph.collected
        except Exception as exc:  # rdflib's parsers raise many exception types
            error = exc
    raise CrosswalkError(f"{syntax} parse error: {_one_line(error)}")


_OX_FORMATS = {"nt": (pyoxigraph.RdfFormat.N_TRIPLES, pyoxigraph.RdfFormat.TURTLE),
               "turtle": (pyoxigraph.RdfFormat.TURTLE,)}
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _parse_oxigraph(data: bytes, syntax: str) -> Triples | None:
    """Turtle / N-Triples through Oxigraph's parser, as rdflib terms; None when it refuses the bytes
    (a relative IRI, a syntax error, RDF 1.2 triple terms…): rdflib then parses them and has the last word."""
    for fmt in _OX_FORMATS.get(syntax, ()):
        triples, term = Triples(), _Terms()
        try:
            for quad in pyoxigraph.parse(data, fmt, without_named_graphs=True, rename_blank_nodes=True):
                triples.add((term(quad.subject), term(quad.predicate), term(quad.object)))
        except (SyntaxError, ValueError):
            continue
        return triples
    return None


class _Terms(dict):
    """Oxigraph term → the rdflib term rdflib's own parser would have made. One object per distinct IRI or
    literal within a parse: predicates, classes and vocabulary labels repeat on every resource, and an rdflib
    Literal costs ~10 µs to make."""

    def __call__(self, term: Any) -> Any:
        kind = type(term)
        if kind is pyoxigraph.BlankNode:
            return BNode(term.value)
        if kind is pyoxigraph.NamedNode:
            key: Any = term.value
        elif kind is pyoxigraph.Literal:
            key = (term.value, term.language, term.datatype.value)
        else:
            raise ValueError(f"unsupported RDF term {kind.__name__}")  # RDF 1.2 triple terms: rdflib decides
        found = self.get(key)
        if found is None:
            found = self[key] = URIRef(key) if kind is pyoxigraph.NamedNode else self._literal(*key)
        return found

    def _literal(self, value: str, language: str | None, datatype: str) -> Literal:
        if language:
            return Literal(value, lang=language)
        if datatype == _XSD_STRING:
            return Literal(value)
        return Literal(value, datatype=self(pyoxigraph.NamedNode(datatype)))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text[:300] + "…") if len(text) > 300 else text or type(exc).__name__


def expand_namespace_entities(data: bytes) -> bytes:
    """Inline a DTD that only declares literal entities (namespace shorthands).

    Anything else in the DTD, or a value with markup or references, leaves
    the bytes unchanged so parse_xml refuses them as usual.
    """
    head = data[:65536].decode("utf-8", "replace")
    match = _DOCTYPE.search(head)
    if not match:
        return data
    subset = _COMMENT.sub("", match.group(1))
    entities = {m.group(1): m.group(3) for m in _ENTITY.finditer(subset)}
    if not entities or len(entities) > 100 or _ENTITY.sub("", subset).strip():
        return data
    text = data.decode("utf-8")
    start = text.index(match.group(0))
    body = text[:start] + text[start + len(match.group(0)) :]
    escaped = {k: v.replace('"', "&quot;").replace("'", "&apos;") for k, v in entities.items()}
    expanded = re.sub(r"&([A-Za-z_][\w.-]*);", lambda m: escaped.get(m.group(1), m.group(0)), body)
    if len(expanded) > MAX_XML_BYTES:
        raise CrosswalkError("XML entity expansion exceeds the size limit")
    return expanded.encode("utf-8")


class _Locator:
    """The bits of a SAX locator rdflib's handler asks for (base URI)."""

    def getPublicId(self) -> None:  # noqa: N802 - SAX API
        return None

    def getSystemId(self) -> str:  # noqa: N802
        return ""

    def getLineNumber(self) -> int:  # noqa: N802
        return 0

    def getColumnNumber(self) -> int:  # noqa: N802
        return 0


def _parse_rdfxml(data: bytes) -> Graph:
    try:
        root = parse_xml(expand_namespace_entities(data))
    except UnicodeDecodeError:
        root = parse_xml(data)
    rdf_ns = str(RDF)
    if root.tag != f"{{{rdf_ns}}}RDF" and not any(k.startswith(f"{{{rdf_ns}}}") for k in root.attrib):
        raise CrosswalkError(f"XML <{local_name(root)}> is not RDF/XML")
    graph = Graph()
    handler = RDFXMLHandler(graph)
    handler.setDocumentLocator(_Locator())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lxml_sax.saxify(root, handler)
    except Exception as exc:  # rdflib raises ParserError and friends on bad RDF/XML
        raise CrosswalkError(f"RDF/XML error: {_one_line(exc)}") from None
    return graph


class _NoFetchCache(dict):
    """rdflib checks its context cache before any fetch: make that check refuse."""

    def __contains__(self, key: object) -> bool:
        raise RemoteContextError(str(key))


class _OfflineContext(Context):
    def __init__(self) -> None:
        super().__init__(base=None)
        self._context_cache = _NoFetchCache()  # shared with every subcontext rdflib derives

    def _fetch_context(self, source: str, base: Any, referenced_contexts: Any) -> Any:
        raise RemoteContextError(source)


SCHEMA_CONTEXT = {"@vocab": "http://schema.org/", "id": "@id", "type": "@type"}
KNOWN_CONTEXTS = {
    url: SCHEMA_CONTEXT
    for url in ("http://schema.org", "http://schema.org/", "https://schema.org", "https://schema.org/")
}
"""Contexts we know by heart, so the commonest JSON-LD needs no fetch (schema.org is @vocab in effect)."""


def _inline_known(obj: Any, depth: int = 0) -> Any:
    """Replace references to KNOWN_CONTEXTS by their content."""
    if depth > 200:
        return obj
    if isinstance(obj, list):
        return [_inline_known(item, depth + 1) for item in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for key, value in obj.items():
        if key == "@context":
            parts = [
                KNOWN_CONTEXTS.get(p, p) if isinstance(p, str) else p
                for p in (value if isinstance(value, list) else [value])
            ]
            value = parts if isinstance(value, list) else parts[0]
        out[key] = _inline_known(value, depth + 1)
    return out


def remote_context(obj: Any, depth: int = 0) -> str | None:
    """The first remote @context / @import reference anywhere in a JSON-LD document."""
    if depth > 200:
        raise CrosswalkError("JSON-LD nested more than 200 levels deep")
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == "@context":
                for part in value if isinstance(value, list) else [value]:
                    if isinstance(part, str):
                        return part
            if key == "@import" and isinstance(value, str):
                return value
            if isinstance(value, (dict, list)):
                found = remote_context(value, depth + 1)
                if found:
                    return found
    elif isinstance(obj, list):
        for item in obj:
            found = remote_context(item, depth + 1)
            if found:
                return found
    return None


def jsonld_graph(doc: Any) -> Graph:
    """rdflib's JSON-LD → RDF with a context that can never fetch."""
    graph = Graph()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        JsonLdParser().parse(doc, _OfflineContext(), graph)
    return graph


def _parse_jsonld(doc: Any) -> Graph:
    if not _looks_jsonld(doc):
        raise CrosswalkError("JSON without @context, @id, @type or @graph is not JSON-LD")
    doc = _inline_known(doc)
    remote = remote_context(doc)
    if remote:
        raise CrosswalkError(f"remote @context not fetched: {remote[:200]}")
    try:
        return jsonld_graph(doc)
    except RemoteContextError as exc:
        raise CrosswalkError(f"remote @context not fetched: {str(exc)[:200]}") from None
    except Exception as exc:  # rdflib's JSON-LD errors are plain exceptions
        raise CrosswalkError(f"JSON-LD error: {_one_line(exc)}") from None


def _looks_jsonld(doc: Any) -> bool:
    items = doc if isinstance(doc, list) else [doc]
    return any(
        isinstance(i, dict) and ({"@context", "@id", "@type", "@graph"} & i.keys()) for i in items[:1000]
    )


# ---------------------------------------------------------------- mapping


def _resources(triples: Triples) -> list[Any]:
    """Learning-resource subjects, minus blank ones embedded in another."""
    found = []
    for subject, properties in triples.by_subject.items():
        types = {o for p, o in properties if _same(p, RDF_TYPE)}
        if types & VOCAB_CLASSES:
            continue
        predicates = {p for p, _ in properties}
        if types & RESOURCE_CLASSES or (predicates & TITLE_PREDICATES and predicates & EDU_PREDICATES):
            found.append(subject)
    chosen = set(found)
    embedded = {o for s in chosen for _, o in triples.pairs(s) if isinstance(o, BNode) and o != s}
    return sorted((s for s in found if not (isinstance(s, BNode) and s in embedded)), key=str)


def _ident(term: Any) -> str:
    return str(term) if isinstance(term, URIRef) else f"_:{term}"


_SPLIT_IRI = re.compile(r"[/#]")
_RDF_TYPE_IRI = str(RDF_TYPE)  # a plain str: comparing one with a URIRef would call URIRef.__eq__ (False)
_BY_STRINGS = itemgetter(0, 1)  # (str(predicate), str(object)): the order properties are read in


@lru_cache(maxsize=4096)
def _key(predicate: str) -> str | None:
    return term_key(predicate)


@lru_cache(maxsize=4096)
def _type_key(iri: str) -> str:
    return term_key(iri) or _SPLIT_IRI.split(iri)[-1]


def _node(triples: Triples, subject: Any, depth: int, seen: frozenset) -> Node:
    """The subject's mapped properties as an lrmi_map node; nesting is bounded."""
    node: Node = {"@id": _ident(subject), "@type": []}
    seen = seen | {subject}
    rows = sorted(((str(p), str(o), p, o) for p, o in triples.pairs(subject)), key=_BY_STRINGS)
    for iri, _, predicate, obj in rows:
        if iri == _RDF_TYPE_IRI and type(predicate) is URIRef:  # predicate == RDF.type
            if isinstance(obj, URIRef):
                node["@type"].append(_type_key(str(obj)))
            continue
        key = _key(iri)
        if key is None:
            continue
        node.setdefault(key, []).extend(_values(triples, obj, depth, seen))
    return node


def _values(triples: Triples, obj: Any, depth: int, seen: frozenset) -> list:
    if isinstance(obj, Literal):
        return [lit(str(obj), obj.language)]
    if isinstance(obj, BNode) and triples.value(obj, RDF_FIRST) is not None:
        items, cell, visited = [], obj, set()
        while cell is not None and cell != RDF_NIL and cell not in visited and len(items) < 10_000:
            visited.add(cell)
            first = triples.value(cell, RDF_FIRST)
            if first is not None:
                items.extend(_values(triples, first, depth, seen))
            cell = triples.value(cell, RDF_REST)
        return items
    if obj in seen or depth >= MAX_NESTING or obj not in triples.by_subject:
        return [{"@id": _ident(obj), "@type": []}]
    return [_node(triples, obj, depth + 1, seen)]


def _label(graph: Graph, subject: Any) -> str:
    for predicate in (DCTERMS.title, DC.title, SKOS.prefLabel, RDFS.label):
        values = sorted(
            graph.objects(subject, predicate),
            key=lambda v: (getattr(v, "language", None) not in (None, "en"), str(v)),
        )
        if values:
            return " ".join(str(values[0]).split())[:120]
    return str(subject)


def _what(graph: Graph) -> str:
    """Say what a graph without resources holds, for the rejection reason."""
    if len(graph) == 0:
        return "empty graph"
    schemes = sorted(set(graph.subjects(RDF.type, SKOS.ConceptScheme)), key=str)
    concepts = set(graph.subjects(RDF.type, SKOS.Concept))
    if schemes or concepts:
        name = (
            f"SKOS concept scheme '{_label(graph, schemes[0])}'"
            if len(schemes) == 1
            else f"{len(schemes)} SKOS concept schemes"
        )
        return f"{name} ({len(concepts)} concepts)"
    properties = {s for cls in PROPERTY_CLASSES for s in graph.subjects(RDF.type, cls)}
    classes = set(graph.subjects(RDF.type, RDFS.Class)) | set(graph.subjects(RDF.type, OWL.Class))
    if properties or classes:
        heads = sorted(
            (
                s
                for s in set(graph.subjects()) - properties - classes
                if (s, DCTERMS.title, None) in graph
                or (s, DC.title, None) in graph
                or (s, RDF.type, OWL.Ontology) in graph
            ),
            key=str,
        )
        name = f"RDF vocabulary '{_label(graph, heads[0])}'" if heads else "RDF vocabulary"
        return f"{name} ({len(properties)} properties, {len(classes)} classes)"
    subjects = len(set(graph.subjects()))
    return (
        f"{subjects} subject(s) in {len(graph)} triples, none typed as a learning resource "
        "or described with an educational property"
    )
