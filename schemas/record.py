"""The one record model every harvester maps into and every output maps out of.

Structs are msgspec Structs: typed, immutable by convention, and encoded to
JSON an order of magnitude faster than dataclasses + json, which matters when
a million records pass through the pipeline.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import msgspec

SOURCE_LEVELS = ("national", "provincial", "municipal", "district", "school")
"""Source levels, highest first (a work's canonical record prefers the first)."""


class Term(msgspec.Struct, frozen=True, omit_defaults=True):
    """A value of a controlled vocabulary: stable code plus zh/en labels."""

    code: str
    zh: str = ""
    en: str = ""


class Edition(msgspec.Struct, frozen=True, omit_defaults=True):
    """A textbook edition normalised to (publisher, variant, chief editor).

    `code` is a stable ASCII slug (e.g. ``pep-a``), `label` the platform
    spelling we show (e.g. 人教A版).
    """

    code: str
    label: str
    publisher: str = ""
    variant: str = ""
    chief_editor: str = ""


class Identifier(msgspec.Struct, frozen=True, omit_defaults=True):
    """Another identifier of the same resource.

    scheme is one of: smartedu, oai, isbn, url, doi, md5, local, other.
    """

    scheme: str
    value: str


class Agent(msgspec.Struct, frozen=True, omit_defaults=True):
    """A person or body involved with the resource.

    role is one of: teacher, author, publisher, provider, producer, contributor.
    """

    name: str
    role: str = "author"
    kind: str = "person"  # person | organization
    school: str = ""
    title: str = ""  # professional title, e.g. 高级教师


class Curriculum(msgspec.Struct, omit_defaults=True):
    """Where the resource sits in the curriculum.

    grade is the number 1-12; grade_label is how we show it. Never key on
    labels like 初一: under the 五四制 school system 初一 is grade 6.
    """

    stage: Term | None = None
    school_system: str | None = None  # "6-3" (六三制) or "5-4" (五四制)
    grade: int | None = None
    grade_label: str | None = None
    subject: Term | None = None
    edition: Edition | None = None
    volume: Term | None = None
    chapter_path: list[str] = []
    class_hour: int | None = None  # 第一课时 -> 1


class Unmapped(msgspec.Struct, frozen=True):
    """A source value the normaliser could not map; reported, never guessed."""

    field: str
    value: str


class Record(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One description of one resource, as one source published it."""

    source: str
    source_record_id: str
    id: str = ""
    url: str | None = None
    identifiers: list[Identifier] = []
    is_based_on: list[str] = []

    title: str
    alt_titles: list[str] = []
    description: str | None = None
    keywords: list[str] = []
    language: str | None = None

    curriculum: Curriculum = msgspec.field(default_factory=Curriculum)
    resource_type: Term | None = None

    format: str | None = None  # MIME type
    size: int | None = None  # bytes
    duration: str | None = None  # ISO 8601, e.g. PT10M23S
    thumbnails: list[str] = []
    file_md5: str | None = None

    agents: list[Agent] = []

    source_level: str | None = None
    honours: list[str] = []  # 部优 / 省优 / 市优 / 县优
    licence: str | None = None  # URL or SPDX-like id
    rights: str | None = None

    created: datetime | None = None
    modified: datetime | None = None  # at the source
    harvested: datetime | None = None
    datestamp: datetime | None = None  # ours, UTC; bumped only on content change

    deleted: bool = False
    unmapped: list[Unmapped] = []

    def __post_init__(self) -> None:
        if not self.id:
            self.id = record_id(self.source, self.source_record_id)


def record_id(source: str, source_record_id: str) -> str:
    """Deterministic id, so re-importing a record never needs a lookup first."""
    digest = hashlib.blake2b(
        f"{source}\x00{source_record_id}".encode(), digest_size=10
    ).hexdigest()
    return f"r{digest}"


_CHANGE_IGNORED = ("harvested", "datestamp")


def content_hash(record: Record) -> str:
    """Hash of what the record says, ignoring our own bookkeeping timestamps.

    The store bumps a record's datestamp only when this changes.
    """
    data = msgspec.to_builtins(record)
    for key in _CHANGE_IGNORED:
        data.pop(key, None)
    return hashlib.blake2b(msgspec.json.encode(data, order="sorted"), digest_size=16).hexdigest()


def utc(value: datetime) -> datetime:
    """Return value as an aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Record)


def to_json(record: Record) -> bytes:
    return _encoder.encode(record)


def from_json(data: bytes | str) -> Record:
    return _decoder.decode(data)


def to_dict(record: Record) -> dict:
    return msgspec.to_builtins(record)


def from_dict(data: dict) -> Record:
    return msgspec.convert(data, Record)
