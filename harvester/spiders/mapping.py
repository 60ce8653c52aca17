"""Fields scraped from a plain HTML page → Record (the ``fields`` spider's crosswalk).

Runs in the parent process, like every crosswalk, so a page kept as raw
payload can be mapped again with today's code. Free text goes through the
same normaliser as every other source (schemas.normalise), so 人教版 /
八年级 / 上册 here mean what they mean in OAI-PMH or LRMI records.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin

import msgspec

from schemas.crosswalks import ReadResult, Rejected
from schemas.normalise import build_curriculum, normalise_resource_type, parse_class_hour
from schemas.record import Agent, Record, Unmapped
from schemas.text import clean

FIELDS_FORMAT = "crawl-fields"


class FieldsPayload(msgspec.Struct):
    """A field-mapped record's raw payload: where, what the selectors found, and the page itself."""

    url: str
    item: dict[str, list[str]]
    page: bytes = b""


_payload_decoder = msgspec.json.Decoder(FieldsPayload)
_KEYWORD_SPLIT = re.compile(r"[,，;；、]")
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})$")
_UNITS = re.compile(r"(\d+)\s*(小时|时|h|hours?|分钟|分|min|m|minutes?|秒|s|sec|seconds?)", re.I)
_ISO = re.compile(r"^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


def iso_duration(text: str) -> str | None:
    """08:30, 1:02:03, 12分30秒, 45 min or PT8M30S → ISO 8601 (PT8M30S); None when unreadable."""
    text = clean(text)
    if _ISO.match(text.upper()):
        return text.upper()
    hours = minutes = seconds = 0
    clock = _CLOCK.match(text)
    if clock:
        hours, minutes, seconds = int(clock.group(1) or 0), int(clock.group(2)), int(clock.group(3))
    else:
        parts = _UNITS.findall(text)
        if not parts or _UNITS.sub("", text).strip(" ,，"):
            return None
        for number, unit in parts:
            unit = unit.lower()
            if unit in ("小时", "时", "h", "hour", "hours"):
                hours += int(number)
            elif unit in ("分钟", "分", "min", "m", "minute", "minutes"):
                minutes += int(number)
            else:
                seconds += int(number)
    if not (hours or minutes or seconds):
        return None
    return "PT" + "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)


def record_from_fields(item: dict[str, list[str]], *, source: str, page_url: str) -> Record | Rejected:
    """One item's scraped strings → Record; its URL (else the page's) is the source record id."""
    first = {key: values[0] for key, values in item.items() if values}
    title = first.get("title")
    if not title:
        return Rejected(reason="no title: the fields.title selector found nothing", locator=page_url)
    url = urljoin(page_url, first["url"]) if first.get("url") else page_url
    unmapped: list[Unmapped] = []
    raw = {key: first.get(key) for key in ("stage", "school_system", "grade", "subject", "edition", "volume")}
    raw["chapter"] = item.get("chapter", [])
    hour = first.get("class_hour") or (title if parse_class_hour(title) else None)
    raw["class_hour"] = hour
    curriculum, missing = build_curriculum(raw)
    unmapped += missing
    resource_type = None
    if first.get("resource_type"):
        resource_type = normalise_resource_type(first["resource_type"])
        if resource_type is None:
            unmapped.append(Unmapped("resource_type", first["resource_type"]))
    duration = None
    if first.get("duration"):
        duration = iso_duration(first["duration"])
        if duration is None:
            unmapped.append(Unmapped("duration", first["duration"]))
    school = first.get("school", "")
    agents = [Agent(name=name, role="teacher", school=school) for name in item.get("teacher", [])]
    keywords: list[str] = []
    for value in item.get("keywords", []):
        keywords += [k for k in (clean(p) for p in _KEYWORD_SPLIT.split(value)) if k and k not in keywords]
    return Record(
        source=source, source_record_id=url, url=url, title=title, description=first.get("description"),
        keywords=keywords, curriculum=curriculum, resource_type=resource_type, duration=duration,
        agents=agents, unmapped=unmapped,
    )


def fields_payload(url: str, item: dict[str, list[str]], page: bytes) -> bytes:
    return msgspec.json.encode(FieldsPayload(url=url, item=item, page=page))


def read(data: bytes, *, source: str) -> Iterator[ReadResult]:
    """A "crawl-fields" raw payload → its Record again (the reader contract of schemas.crosswalks)."""
    try:
        payload = _payload_decoder.decode(data)
    except msgspec.DecodeError as exc:
        yield Rejected(reason=f"not a crawl-fields payload: {exc}", stage="parse")
        return
    yield record_from_fields(payload.item, source=source, page_url=payload.url)
