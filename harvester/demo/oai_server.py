"""The municipal platform's OAI-PMH 2.0 endpoint: oai_dc and LOM, sets by stage, stateless tokens.

Small but honest: Identify, ListMetadataFormats, ListSets, ListIdentifiers,
ListRecords (from/until/set, resumption tokens with completeListSize and
cursor), GetRecord, and the protocol's error codes. Records are generated
on demand from the item index, so a page costs the same at any size; a
token is the request plus the next item index (base64url JSON), so the
server keeps no session. A selective page scans at most SCAN_LIMIT items
and may come back short, with a token, as the protocol allows.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime

from lxml import etree

from harvester.demo.platforms import BASE_DATE, count, item, modified
from harvester.demo.render import oai_record
from harvester.demo.state import DemoState
from harvester.demo.styles import OAI_PREFIX, record

NS = "http://www.openarchives.org/OAI/2.0/"
PAGE = 200
SCAN_LIMIT = 20_000
PLATFORM = "municipal"
FORMATS = {
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", "http://www.openarchives.org/OAI/2.0/oai_dc/"),
    "lom": ("http://ltsc.ieee.org/xsd/lomv1.0/lomLoose.xsd", "http://ltsc.ieee.org/xsd/LOM"),
}
SETS = {"primary": "小学", "junior": "初中", "senior": "高中"}
ARGUMENTS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), {"resumptionToken"}),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
}


class OaiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_date(text: str, end: bool) -> datetime:
    try:
        if len(text) == 10:
            value = datetime.fromisoformat(text + ("T23:59:59" if end else "T00:00:00"))
        elif text.endswith("Z") and len(text) == 20:
            value = datetime.fromisoformat(text[:-1])
        else:
            raise ValueError(text)
    except ValueError:
        raise OaiError("badArgument", f"not a UTC datestamp: {text}") from None
    return value.replace(tzinfo=UTC)


STAGE_SETS = {"小学": "primary", "初中": "junior", "高中": "senior"}


def _stage_set(state: DemoState, it) -> str:  # noqa: ANN001 - an Item
    return STAGE_SETS.get(it.lesson.book.stage, "other")


class OaiEndpoint:
    """Answers one request's query arguments with the response's bytes."""

    def __init__(self, base_url: str, bases: Callable[[], dict[str, str]]) -> None:
        self.base_url, self.bases = base_url, bases

    def respond(self, state: DemoState, args: dict[str, list[str]]) -> bytes:
        root = etree.Element(f"{{{NS}}}OAI-PMH", nsmap={None: NS, "xsi": "http://www.w3.org/2001/XMLSchema-instance"})
        root.set("{http://www.w3.org/2001/XMLSchema-instance}schemaLocation",
                 f"{NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
        etree.SubElement(root, f"{{{NS}}}responseDate").text = stamp(datetime.now(UTC))
        request = etree.SubElement(root, f"{{{NS}}}request")
        request.text = self.base_url
        verb = (args.get("verb") or [""])[0]
        try:
            single = self._check(verb, args)
            for key, value in single.items():
                request.set(key, value)
            root.append(getattr(self, verb)(state, single))
        except OaiError as exc:
            error = etree.SubElement(root, f"{{{NS}}}error", code=exc.code)
            error.text = exc.message
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def _check(self, verb: str, args: dict[str, list[str]]) -> dict[str, str]:
        if verb not in ARGUMENTS:
            raise OaiError("badVerb", f"illegal verb: {verb or '(none)'}")
        required, optional = ARGUMENTS[verb]
        given = {k: v for k, v in args.items() if k != "verb"}
        if any(len(v) > 1 for v in args.values()):
            raise OaiError("badArgument", "repeated argument")
        if "resumptionToken" in given and len(given) > 1:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument")
        unknown = set(given) - required - optional
        missing = required - set(given) if "resumptionToken" not in given else set()
        if unknown or missing:
            raise OaiError("badArgument", f"unknown {sorted(unknown)} / missing {sorted(missing)} arguments")
        return {k: v[0] for k, v in given.items()}

    def _el(self, name: str, text: str | None = None, **attrs: str) -> etree._Element:
        element = etree.Element(f"{{{NS}}}{name}", **attrs)
        element.text = text
        return element

    def _add(self, parent: etree._Element, name: str, text: str) -> None:
        etree.SubElement(parent, f"{{{NS}}}{name}").text = text

    def Identify(self, state: DemoState, _: dict[str, str]) -> etree._Element:  # noqa: N802 - OAI verb
        out = self._el("Identify")
        for name, text in (("repositoryName", "北京市基础教育资源平台"), ("baseURL", self.base_url),
                           ("protocolVersion", "2.0"), ("adminEmail", "oai@res.bjedu.example.cn"),
                           ("earliestDatestamp", stamp(BASE_DATE)), ("deletedRecord", "persistent"),
                           ("granularity", "YYYY-MM-DDThh:mm:ssZ")):
            self._add(out, name, text)
        return out

    def ListMetadataFormats(self, state: DemoState, args: dict[str, str]) -> etree._Element:  # noqa: N802
        if "identifier" in args:
            self._item(state, args["identifier"])
        out = self._el("ListMetadataFormats")
        for prefix, (schema, namespace) in FORMATS.items():
            fmt = etree.SubElement(out, f"{{{NS}}}metadataFormat")
            self._add(fmt, "metadataPrefix", prefix)
            self._add(fmt, "schema", schema)
            self._add(fmt, "metadataNamespace", namespace)
        return out

    def ListSets(self, state: DemoState, args: dict[str, str]) -> etree._Element:  # noqa: N802
        if "resumptionToken" in args:
            raise OaiError("badResumptionToken", "ListSets has a single page")
        out = self._el("ListSets")
        for spec, name in SETS.items():
            entry = etree.SubElement(out, f"{{{NS}}}set")
            self._add(entry, "setSpec", spec)
            self._add(entry, "setName", name)
        return out

    def GetRecord(self, state: DemoState, args: dict[str, str]) -> etree._Element:  # noqa: N802
        prefix = self._prefix(args["metadataPrefix"])
        it = self._item(state, args["identifier"])
        out = self._el("GetRecord")
        out.append(self._record(state, it, prefix, header_only=False))
        return out

    def ListRecords(self, state: DemoState, args: dict[str, str]) -> etree._Element:  # noqa: N802
        return self._list(state, args, "ListRecords", header_only=False)

    def ListIdentifiers(self, state: DemoState, args: dict[str, str]) -> etree._Element:  # noqa: N802
        return self._list(state, args, "ListIdentifiers", header_only=True)

    # -- helpers ------------------------------------------------------------------------------

    def _prefix(self, prefix: str) -> str:
        if prefix not in FORMATS:
            raise OaiError("cannotDisseminateFormat", f"formats: {', '.join(FORMATS)}")
        return prefix

    def _item(self, state: DemoState, identifier: str):  # noqa: ANN202 - an Item
        number = identifier.removeprefix(OAI_PREFIX)
        index = int(number) - 100001 if identifier.startswith(OAI_PREFIX) and number.isdigit() else -1
        if not 0 <= index < count(PLATFORM, state):
            raise OaiError("idDoesNotExist", f"no record {identifier}")
        return item(state, PLATFORM, index)

    def _record(self, state: DemoState, it, prefix: str, *, header_only: bool) -> etree._Element:  # noqa: ANN001
        rec = record(state, it, self.bases())
        return oai_record(prefix, rec, stamp(modified(state, it)), _stage_set(state, it), deleted=it.deleted,
                          header_only=header_only)

    def _list(self, state: DemoState, args: dict[str, str], verb: str, *, header_only: bool) -> etree._Element:
        if "resumptionToken" in args:
            query = _decode_token(args["resumptionToken"])
        else:
            query = {"p": self._prefix(args["metadataPrefix"]), "f": args.get("from"), "u": args.get("until"),
                     "s": args.get("set"), "i": 0, "n": 0}
            if query["s"] is not None and query["s"] not in SETS:
                raise OaiError("noRecordsMatch", f"no set {query['s']}")
        start = _parse_date(query["f"], False) if query["f"] else None
        end = _parse_date(query["u"], True) if query["u"] else None
        if start and end and (len(query["f"]) != len(query["u"]) or start > end):
            raise OaiError("badArgument", "from and until differ in granularity or from > until")
        out = self._el(verb)
        total, index, found = count(PLATFORM, state), query["i"], 0
        scanned = 0
        while index < total and found < PAGE and scanned < SCAN_LIMIT:
            it = item(state, PLATFORM, index)
            index += 1
            scanned += 1
            when = modified(state, it).replace(microsecond=0)
            if (start and when < start) or (end and when > end):
                continue
            if query["s"] and _stage_set(state, it) != query["s"]:
                continue
            out.append(self._record(state, it, query["p"], header_only=header_only))
            found += 1
        if not found and query["i"] == 0 and index >= total:
            raise OaiError("noRecordsMatch", "no records match the request")
        whole = not (query["f"] or query["u"] or query["s"])
        if index < total or query["i"]:
            token = self._el("resumptionToken", _encode_token({**query, "i": index, "n": query["n"] + found})
                             if index < total else None, cursor=str(query["n"]))
            if whole:
                token.set("completeListSize", str(total))
            out.append(token)
        return out


def _encode_token(query: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(query, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_token(token: str) -> dict[str, object]:
    try:
        query = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(query, dict) or query.get("p") not in FORMATS or not isinstance(query.get("i"), int):
            raise ValueError(token)
    except ValueError:
        raise OaiError("badResumptionToken", "unknown or malformed token") from None
    return query
