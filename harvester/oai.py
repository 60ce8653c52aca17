"""OAI-PMH harvesting: Identify, then ListRecords page by page, resumable.

Why it is shaped like this:

* The resumption token is checkpointed after every stored page, so a killed
  harvest resumes at the page it was on; re-storing a page is harmless
  because upserts are idempotent (same content -> "unchanged").
* Incremental runs ask ``from`` = start of the last successful window minus
  HARVEST_OVERLAP, in the granularity Identify announced (day or seconds).
* Each record is mapped from its own ``<record>`` bytes, which are also kept
  as its raw payload, so a bad record never sinks its page and `huiju remap`
  maps exactly what was harvested.
* A page that does not parse is first cleaned (invalid UTF-8, control
  characters) and re-parsed; if it still fails it is fetched once more, then
  quarantined with its bytes (stage parse). When its resumption token can
  still be read the harvest goes on and the run ends failed (so the next
  incremental run covers that window again); otherwise the run ends failed
  at once and the next run resumes at that page.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import msgspec
from lxml import etree

from harvester.http import Ahead, FetchError, HttpClient, TooLarge
from harvester.runner import HarvestFailed, Reporter
from repository.ingest import record_document, store_results
from repository.store import Store
from schemas.crosswalks import Rejected, reader
from schemas.crosswalks.oai_envelope import errors as oai_errors
from schemas.crosswalks.oai_envelope import is_oai_response, parse_datestamp
from schemas.errors import CrosswalkError
from schemas.record import Record
from schemas.xmlsafe import local_name, parse_xml

log = logging.getLogger(__name__)

PREFIX_READERS = {
    "oai_dc": "oai_dc", "lom": "lom", "oai_lom": "lom", "ieee_lom": "lom", "lom_ims": "lom",
    "marc21": "marcxml", "marcxml": "marcxml", "marc": "marcxml", "MARC21": "marcxml",
}
"""metadataPrefix -> reader; other prefixes need the source option ``format``."""

SECONDS = "YYYY-MM-DDThh:mm:ssZ"
DAY = "YYYY-MM-DD"
MAX_RESTARTS = 2  # badResumptionToken restarts of the window within one run
_TOKEN = re.compile(rb"<(?:[\w.-]+:)?resumptionToken\b[^>]*>\s*([^<\s][^<]*?)\s*</")
_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ILLEGAL_REF = re.compile(r"&#(?:x0*(?:[0-8bcef]|1[0-9a-f])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]));", re.I)


@dataclass
class Page:
    records: list[etree._Element] = field(default_factory=list)
    token: str | None = None
    total: int | None = None
    cursor: int | None = None
    errors: list[Any] = field(default_factory=list)
    cleaned: int = 0


def clean_xml(data: bytes) -> tuple[bytes, int]:
    """Bytes with invalid encoding sequences replaced and XML-illegal characters (raw or as
    character references) removed, plus how many were fixed; the declaration is kept true."""
    match = _ENCODING.match(data)
    codec = match.group(1).decode("ascii") if match else "utf-8"
    try:
        text = data.decode(codec, errors="replace")
    except LookupError:
        codec, text = "utf-8", data.decode("utf-8", errors="replace")
    fixed = text.count("\ufffd") - data.decode(codec, errors="ignore").count("\ufffd")
    text, removed = _ILLEGAL.subn("", text)
    text, refs = _ILLEGAL_REF.subn("", text)
    out = text.encode("utf-8")
    if match and codec.lower().replace("_", "-") not in ("utf-8", "utf8"):
        out = _ENCODING.sub(lambda m: m.group(0).replace(m.group(1), b"UTF-8"), out, count=1)
    return out, fixed + removed + refs


def parse_page(data: bytes, max_bytes: int) -> tuple[etree._Element, int]:
    """The parsed response and how many characters had to be cleaned; CrosswalkError if hopeless."""
    try:
        return parse_xml(data, max_bytes=max_bytes), 0
    except CrosswalkError:
        cleaned, fixed = clean_xml(data)
        if not fixed:
            raise
        return parse_xml(cleaned, max_bytes=max_bytes), fixed


def _child(element: etree._Element | None, name: str) -> etree._Element | None:
    if element is None:
        return None
    return next((c for c in element if local_name(c) == name), None)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def page_of(root: etree._Element) -> Page:
    """Records, token and protocol errors of a ListRecords response."""
    listing = _child(root, "ListRecords")
    token = _child(listing, "resumptionToken")
    return Page(
        records=[r for r in listing if local_name(r) == "record"] if listing is not None else [],
        token=((token.text or "").strip() or None) if token is not None else None,
        total=_int(token.get("completeListSize")) if token is not None else None,
        cursor=_int(token.get("cursor")) if token is not None else None,
        errors=oai_errors(root),
    )


def identify(client: HttpClient, base: str, progress: Reporter) -> dict[str, Any]:
    """Granularity, earliest datestamp and deletion policy; day granularity when unusable."""
    try:
        response = client.get(base, {"verb": "Identify"})
    except FetchError as exc:
        raise HarvestFailed(f"Identify: {exc.reason}") from None
    facts: dict[str, Any] = {"granularity": DAY}
    try:
        root, _ = parse_page(response.content, client.max_bytes)
    except CrosswalkError as exc:
        progress.error(f"Identify response unusable ({exc.reason}); assuming day granularity")
        return facts
    element = _child(root, "Identify")
    if not is_oai_response(root) or element is None:
        progress.error("Identify response has no <Identify>; assuming day granularity")
        return facts
    for name in ("repositoryName", "protocolVersion", "earliestDatestamp", "deletedRecord", "granularity"):
        value = _child(element, name)
        if value is not None and (value.text or "").strip():
            facts[name] = value.text.strip()
    if facts["granularity"] != SECONDS:
        facts["granularity"] = DAY
    return facts


def incremental_from(store: Store, source: Any, facts: dict[str, Any], overlap: int,
                     prefix: str, set_spec: str | None) -> str | None:
    """``from`` for this run: the last successful window's start minus the overlap, or None (full)."""
    if (source.options or {}).get("full") in (True, "true", "1", "yes"):
        return None
    last = store.last_run(source, status="succeeded")
    if last is None:
        return None
    state = last.checkpoint or {}
    if state.get("prefix", prefix) != prefix or state.get("set") != set_spec:
        return None  # another format or set: this window has never been harvested
    since = parse_datestamp(state.get("window_started")) or last.started
    since -= timedelta(seconds=overlap)
    return since.strftime("%Y-%m-%dT%H:%M:%SZ" if facts.get("granularity") == SECONDS else "%Y-%m-%d")


class ListRecords:
    """One run's walk through a ListRecords list."""

    def __init__(self, store: Store, source: Any, run: Any, progress: Reporter) -> None:
        self.store, self.source, self.run, self.progress = store, source, run, progress
        self.client = progress.client()
        options = source.options or {}
        self.prefix = str(options.get("prefix") or "oai_dc")
        self.set_spec = options.get("set") or None
        self.format = options.get("format") or PREFIX_READERS.get(self.prefix)
        if not self.format:
            raise HarvestFailed(f"no reader for metadataPrefix {self.prefix!r}: set the source option format=")
        self.read = reader(self.format)
        self.batch = progress.settings["IMPORT_BATCH_SIZE"]
        self.state: dict[str, Any] = {}
        self.pages = 0
        self.skipped = 0

    def first_params(self) -> dict[str, str]:
        params = {"verb": "ListRecords", "metadataPrefix": self.prefix}
        if self.set_spec:
            params["set"] = self.set_spec
        if self.state.get("from"):
            params["from"] = self.state["from"]
        return params

    def start(self) -> None:
        facts = identify(self.client, self.source.location, self.progress)
        previous = dict(self.run.checkpoint or {})
        if previous.get("token") and previous.get("prefix") == self.prefix and previous.get("set") == self.set_spec:
            log.info("%s: resuming run %s at token %s", self.source.name, previous.get("resumed_from"),
                     previous["token"])
            self.state = {**previous, "identify": facts}
            return
        since = incremental_from(self.store, self.source, facts, self.progress.settings["HARVEST_OVERLAP"],
                                 self.prefix, self.set_spec)
        self.state = {"identify": facts, "prefix": self.prefix, "set": self.set_spec, "from": since,
                      "window_started": self.run.started.isoformat(), "token": None}
        self.store.checkpoint(self.run, self.state)

    def fetch(self, params: dict[str, str], number: int | None = None) -> tuple[etree._Element | None, bytes, str, int]:
        """(root or None, bytes, url, status) of page ``number`` (default: the next); a page that will not
        parse is fetched twice."""
        number = self.pages + 1 if number is None else number
        for attempt in (1, 2):
            try:
                response = self.client.get(self.source.location, params)
            except TooLarge as exc:
                self.store.quarantine(self.source, self.run, "fetch", exc.reason, locator=exc.url or "")
                raise HarvestFailed(f"page {number}: {exc.reason}") from None
            except FetchError as exc:
                raise HarvestFailed(f"page {number}: {exc.reason}") from None
            try:
                root, fixed = parse_page(response.content, self.client.max_bytes)
            except CrosswalkError as exc:
                if not response.ok:
                    self._refuse_http(response, number)
                if attempt == 1:
                    continue
                self.store.quarantine(self.source, self.run, "parse", f"page does not parse: {exc.reason}",
                                      locator=response.url, raw=response.content)
                return None, response.content, response.url, response.status
            if fixed:
                self.progress.error(f"page {number}: removed {fixed} invalid character(s) and re-parsed")
            if not is_oai_response(root):
                if not response.ok:
                    self._refuse_http(response, number)
                self.store.quarantine(self.source, self.run, "parse", "not an OAI-PMH response",
                                      locator=response.url, raw=response.content)
                return None, response.content, response.url, response.status
            return root, response.content, response.url, response.status
        raise AssertionError("unreachable")

    def _refuse_http(self, response: Any, number: int) -> None:
        """A non-2xx answer that is not an OAI-PMH response (4xx bodies may carry OAI errors)."""
        self.store.quarantine(self.source, self.run, "fetch", f"HTTP {response.status}", locator=response.url,
                              raw=response.content[:65536])
        raise HarvestFailed(f"page {number}: HTTP {response.status} from {response.url}")

    def run_list(self) -> None:
        """Walk the list page by page; the next page is fetched (Ahead) while this one is mapped and stored."""
        with Ahead() as ahead:
            self._run_list(ahead)

    def _run_list(self, ahead: Ahead) -> None:
        seen: set[str] = set()
        restarts = 0
        while True:
            token = self.state.get("token")
            params = {"verb": "ListRecords", "resumptionToken": token} if token else self.first_params()
            root, data, url, status = ahead.take(token, lambda params=params: self.fetch(params))
            if root is None:
                recovered = _TOKEN.search(data)
                next_token = recovered.group(1).decode("utf-8", "replace") if recovered else None
                if not next_token or next_token in seen:
                    raise HarvestFailed(f"page {self.pages + 1} could not be parsed and holds no usable "
                                        "resumption token; its bytes are in the quarantine")
                self.skipped += 1
                self.progress.error(f"page {self.pages + 1} skipped (quarantined); went on with its token")
                seen.add(next_token)
                self.advance(next_token, 0, None, None)
                continue
            page = page_of(root)
            codes = {e.code for e in page.errors}
            if "noRecordsMatch" in codes:
                break
            if "badResumptionToken" in codes and token:
                restarts += 1
                if restarts > MAX_RESTARTS:
                    self.state["token"] = None
                    self.store.checkpoint(self.run, self.state)
                    raise HarvestFailed(f"resumption token refused {restarts} times (badResumptionToken)")
                self.progress.error(f"resumption token {token!r} refused (badResumptionToken): "
                                    "harvesting the window again from its start")
                self.state["token"] = None
                seen.clear()
                continue
            if page.errors:
                text = "; ".join(f"{e.code}: {e.message}".strip(": ") for e in page.errors)
                raise HarvestFailed(f"OAI-PMH error {text}")
            if status != 200 and not page.records:
                raise HarvestFailed(f"HTTP {status} from {url}")
            if page.token and page.token not in seen:
                following = {"verb": "ListRecords", "resumptionToken": page.token}
                ahead.start(page.token, lambda p=following, n=self.pages + 2: self.fetch(p, n))
            self.store_page(page)
            if page.token and page.token in seen:
                self.state["token"] = None
                self.store.checkpoint(self.run, self.state)
                raise HarvestFailed(f"resumption token {page.token!r} came back again: the server loops")
            if page.token:
                seen.add(page.token)
            position = page.cursor + len(page.records) if page.cursor is not None else None
            self.advance(page.token, len(page.records), page.total, position)
            if not page.token:
                break
        self.state.update(token=None, complete=True)
        self.store.checkpoint(self.run, self.state, pages=self.pages)
        if self.skipped:
            raise HarvestFailed(f"{self.skipped} page(s) could not be parsed and were skipped; their bytes are "
                                "in the quarantine and the next run harvests this window again")

    def advance(self, token: str | None, records: int, total: int | None, position: int | None) -> None:
        """Checkpoint the next token only after the page is stored: a crash re-fetches, never skips."""
        self.pages += 1
        self.state["token"] = token
        self.store.checkpoint(self.run, self.state, pages=self.pages)
        self.progress.page(records, total=total, position=position)

    def store_page(self, page: Page) -> None:
        results: list[Record | Rejected] = []
        raw: dict[str, tuple[str, bytes]] = {}
        for element in page.records:
            own = etree.tostring(element, encoding="utf-8", with_tail=False)
            for result in self.read(record_document(own), source=self.source.name):
                if isinstance(result, Record):
                    raw[result.source_record_id] = (self.format, own)
                elif not result.raw:
                    result = msgspec.structs.replace(result, raw=own)
                results.append(result)
        store_results(self.store, self.source, results, run=self.run, batch_size=self.batch,
                      level=self.source.level, raw=raw)


def harvest(store: Store, source: Any, run: Any, progress: Reporter) -> None:
    """The "oai" kind: location is the base URL; options prefix, set, format, full."""
    walk = ListRecords(store, source, run, progress)
    walk.start()
    walk.run_list()
