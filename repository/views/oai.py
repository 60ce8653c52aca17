"""The OAI-PMH 2.0 endpoint at /oai: the provider's only I/O.

GET, or POST application/x-www-form-urlencoded. Every protocol error is an
HTTP 200 with <error code=…> (repository/oai/errors.py); only overload is an
HTTP error: 503 with Retry-After once OAI_MAX_CONCURRENT requests are in
flight in this process. Bodies are gzip- or deflate-compressed when the
client's Accept-Encoding asks (declared in Identify).

Late commits: every list stops OAI_COMMIT_LAG seconds before "now", so a
transaction that took its datestamp a moment ago but commits after this
response cannot land behind a harvester's position (docs/oai-pmh.md).
"""

from __future__ import annotations

import dataclasses
import gzip
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, request, url_for
from flask.blueprints import BlueprintSetupState
from lxml import etree

from repository.db import utcnow
from repository.oai import build
from repository.oai.args import OaiRequest, parse_request
from repository.oai.build import Envelope, Identity, Item, Resumption, Tombstone
from repository.oai.errors import OaiError
from repository.oai.formats import FORMATS, SCHEMAS, MetadataFormat
from repository.oai.sets import DIMENSIONS, set_info
from repository.oai.tokens import Cursor, TokenCodec
from repository.publication import Catalogue, Window, WorkRow, work_record
from repository.settings import Settings
from repository.store import Store
from schemas.record import Record

bp = Blueprint("oai", __name__)


@dataclass
class Provider:
    """Per-app state: settings, the token codec, the concurrency gate and the catalogue."""

    catalogue: Catalogue
    codec: TokenCodec
    gate: threading.BoundedSemaphore
    settings: Settings

    @classmethod
    def for_app(cls, store: Store, settings: Settings, secret: str) -> Provider:
        return cls(Catalogue(store), TokenCodec(secret, settings["OAI_TOKEN_LIFETIME"]),
                   threading.BoundedSemaphore(settings["OAI_MAX_CONCURRENT"]), settings)

    @property
    def repository_id(self) -> str:
        return self.settings["OAI_REPOSITORY_ID"]

    def identifier(self, work_id: str) -> str:
        return f"oai:{self.repository_id}:{work_id}"

    def work_id(self, identifier: str) -> str | None:
        prefix = f"oai:{self.repository_id}:"
        return identifier[len(prefix):] if identifier.startswith(prefix) else None

    # -- dispatch -----------------------------------------------------------------------------

    def respond(self, arguments: Mapping[str, list[str]], base_url: str, stylesheet: str | None) -> bytes:
        now = utcnow()
        env = Envelope(base_url, now, {}, stylesheet)
        try:
            req = parse_request(arguments)
            env = Envelope(base_url, now, req.arguments, stylesheet)
            return _VERBS[req.verb](self, req, env)
        except OaiError as exc:
            return build.error(env, [exc])

    def identify(self, req: OaiRequest, env: Envelope) -> bytes:
        earliest = self.catalogue.earliest() or env.response_date
        identity = Identity(self.settings["OAI_REPOSITORY_NAME"], self.settings["OAI_ADMIN_EMAIL"], earliest,
                            self.repository_id, self.identifier("w0123456789abcdef0123"))
        return build.identify(env, identity)

    def list_metadata_formats(self, req: OaiRequest, env: Envelope) -> bytes:
        formats = list(FORMATS.values())
        if req.identifier is not None:
            row = self._work(req.identifier)
            if not _tombstone(row):
                record = work_record(row.data or b"")
                formats = [fmt for fmt in formats if _writes(fmt, record)]
            if not formats:
                raise OaiError("noMetadataFormats", f"no format can express {req.identifier}")
        return build.list_metadata_formats(env, formats)

    def list_sets(self, req: OaiRequest, env: Envelope) -> bytes:
        if not self.settings["OAI_SETS"]:
            raise OaiError("noSetHierarchy")
        if req.resumption_token is not None:
            raise OaiError("badResumptionToken", "ListSets answers in one page and issues no tokens")
        specs = sorted(set(DIMENSIONS) | set(self.catalogue.all_set_specs()))
        labels = self.catalogue.edition_labels(s for s in specs if s.startswith("edition:"))
        return build.list_sets(env, [set_info(spec, labels) for spec in specs])

    def get_record(self, req: OaiRequest, env: Envelope) -> bytes:
        fmt = _format(req.metadata_prefix)
        row = self._work(req.identifier or "")
        item = self._items([row], with_record=True)[0]
        if item.record is not None and not _writes(fmt, item.record):
            raise OaiError("cannotDisseminateFormat", f"{req.identifier} cannot be expressed in {fmt.prefix}")
        return build.get_record(env, item, fmt)

    def list_identifiers(self, req: OaiRequest, env: Envelope) -> bytes:
        return self._list(req, env, with_record=False)

    def list_records(self, req: OaiRequest, env: Envelope) -> bytes:
        return self._list(req, env, with_record=True)

    # -- lists --------------------------------------------------------------------------------

    def _list(self, req: OaiRequest, env: Envelope, *, with_record: bool) -> bytes:
        if req.resumption_token is not None:
            cursor = self.codec.load(req.resumption_token, req.verb)
            prefix, set_spec, start, end = cursor.metadata_prefix, cursor.set_spec, cursor.from_, cursor.until
            after: tuple | None = (cursor.after_datestamp, cursor.after_id)
            sent, total = cursor.sent, cursor.total
        else:
            prefix, set_spec, start, end = req.metadata_prefix, req.set_spec, req.from_, req.until
            after, sent, total = None, 0, 0
        fmt = _format(prefix)
        if set_spec is not None and not self.settings["OAI_SETS"]:
            raise OaiError("noSetHierarchy")
        cap = env.response_date - timedelta(seconds=self.settings["OAI_COMMIT_LAG"])
        window = Window(cap, start, end, set_spec)
        size = self.settings["OAI_PAGE_SIZE"]
        rows = self.catalogue.page(window, after, size + 1, data=with_record)
        more, rows = len(rows) > size, rows[:size]
        if not rows:
            raise OaiError("noRecordsMatch")
        resumption = None
        if after is None and more:
            total = self.catalogue.count(window)
        if more:
            token, expires = self.codec.dump(Cursor(req.verb, prefix, set_spec, start, end, rows[-1].datestamp,
                                                    rows[-1].id, sent + len(rows), total))
            resumption = Resumption(token, sent, total, expires)
        elif after is not None:
            resumption = Resumption("", sent, total)  # the last page of a multi-page list
        items = self._items(rows, with_record=with_record)
        if with_record:  # one record a crosswalk cannot write must not stop the harvest of all the others
            return build.list_records(env, items, dataclasses.replace(fmt, write=_logged(fmt)), resumption)
        return build.list_identifiers(env, items, resumption)

    def _work(self, identifier: str) -> WorkRow:
        work_id = self.work_id(identifier)
        row = self.catalogue.get(work_id) if work_id else None
        if row is None:
            raise OaiError("idDoesNotExist", f"{identifier} is not an item of this repository")
        return row

    def _items(self, rows: list[WorkRow], *, with_record: bool) -> list[Item]:
        specs = self.catalogue.set_specs_of([row.id for row in rows]) if self.settings["OAI_SETS"] else {}
        items = []
        for row in rows:
            stone = _tombstone(row)
            if stone is not None and stone.successor:
                stone = Tombstone(stone.reason, self.identifier(stone.successor))
            record = work_record(row.data) if with_record and stone is None and row.data else None
            items.append(Item(self.identifier(row.id), row.datestamp, specs.get(row.id, ()), record, stone))
        return items


_VERBS: dict[str, Callable[[Provider, OaiRequest, Envelope], bytes]] = {
    "Identify": Provider.identify,
    "ListMetadataFormats": Provider.list_metadata_formats,
    "ListSets": Provider.list_sets,
    "GetRecord": Provider.get_record,
    "ListIdentifiers": Provider.list_identifiers,
    "ListRecords": Provider.list_records,
}


def _format(prefix: str | None) -> MetadataFormat:
    if prefix not in FORMATS:
        raise OaiError("cannotDisseminateFormat", f"{prefix!r} is not one of {', '.join(FORMATS)}")
    return FORMATS[prefix]


def _tombstone(row: WorkRow) -> Tombstone | None:
    """Why a harvestable work is deleted, or None while it is published (successor: a work id)."""
    if row.status == "active" and row.published:
        return None
    reason = row.status if row.status in ("merged", "deleted") else "withdrawn"  # active, no approved member
    return Tombstone(reason, row.successor_id if row.status == "merged" else None)


def _logged(fmt: MetadataFormat) -> Callable[[Record], etree._Element | None]:
    """fmt.write that logs a failure and answers None (header only) instead of raising."""

    def write(record: Record) -> etree._Element | None:
        try:
            return fmt.write(record)
        except Exception:  # noqa: BLE001 - any crosswalk failure
            current_app.logger.exception("%s cannot write record %s", fmt.prefix, record.id)
            return None

    return write


def _writes(fmt: MetadataFormat, record: Record) -> bool:
    try:
        fmt.write(record)
    except Exception:  # noqa: BLE001 - any crosswalk failure means "cannot disseminate"
        current_app.logger.exception("%s cannot write a record", fmt.prefix)
        return False
    return True


# -- HTTP ---------------------------------------------------------------------------------------


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = state.app
    app.extensions["huiju.oai"] = Provider.for_app(
        app.extensions["huiju.store"], app.extensions["huiju.settings"], app.config["SECRET_KEY"])


@bp.route("", methods=["GET", "POST"], strict_slashes=False)
def endpoint() -> Response:
    provider: Provider = current_app.extensions["huiju.oai"]
    if not provider.gate.acquire(blocking=False):
        retry = str(provider.settings["OAI_RETRY_AFTER"])
        return Response("OAI-PMH is busy; retry later.\n", 503, {"Retry-After": retry}, mimetype="text/plain")
    try:
        arguments = {name: request.args.getlist(name) for name in request.args}
        if request.method == "POST":
            for name in request.form:
                arguments.setdefault(name, []).extend(request.form.getlist(name))
        base_url = provider.settings["OAI_BASE_URL"] or request.base_url
        body = provider.respond(arguments, base_url.rstrip("/"), url_for("static", filename="oai2.xsl"))
    finally:
        provider.gate.release()
    return _compressed(body)


@bp.get("/schemas/<name>")
def schema(name: str) -> Response:
    if name not in SCHEMAS:
        abort(404)
    return Response(SCHEMAS[name], mimetype="application/xml")


def _compressed(body: bytes) -> Response:
    """gzip or deflate (zlib) as the client's Accept-Encoding prefers; identity otherwise."""
    accept = request.accept_encodings
    gzip_q, deflate_q = accept["gzip"], accept["deflate"]
    headers = {"Vary": "Accept-Encoding"}
    if gzip_q and gzip_q >= deflate_q:
        body, headers["Content-Encoding"] = gzip.compress(body, 5), "gzip"
    elif deflate_q:
        body, headers["Content-Encoding"] = zlib.compress(body, 5), "deflate"
    return Response(body, 200, headers, content_type="text/xml; charset=utf-8")
