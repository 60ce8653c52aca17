"""Technical fields plausible: duration, format (MIME type), size, checksum, thumbnail and link schemes.

Why: a duration of 0 or 30 hours, a format "ppt" or a ``javascript:`` link are
mapping errors or hostile input; the teacher pages would show them as facts.
"""

from __future__ import annotations

import re
from functools import cache

from repository.checks.base import WARN, Context, Finding, Result, Row
from schemas.record import Record
from schemas.vocab import vocabulary

CODES = ("technical.duration_invalid", "technical.duration_implausible", "technical.duration_missing",
         "technical.format_invalid", "technical.format_mismatch", "technical.size_implausible",
         "technical.md5_invalid", "technical.url_scheme", "technical.thumbnail_scheme")
DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")
MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;.*)?")
MAX_SECONDS = 6 * 3600  # longer than any lesson recording
MAX_SIZE = 20 * 1024**3
MD5 = re.compile(r"[0-9a-fA-F]{32}")
WEB_SCHEMES = ("http://", "https://")


def seconds(duration: str) -> float | None:
    """Seconds of an ISO 8601 duration (PT10M23S), None when it is not one."""
    match = DURATION.fullmatch(duration.strip().upper())
    if not match or duration.strip().upper() in ("P", "PT") or duration.strip().upper().endswith("T"):
        return None
    days, hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + secs


@cache
def media_of(code: str) -> str:
    entry = vocabulary("resource_types").entries.get(code, {})
    return str(entry.get("media", ""))


def _duration(record: Record, video: bool) -> list[Finding]:
    if record.duration is None:
        return [Finding("technical.duration_missing", outcome=WARN)] if video else []
    value = seconds(record.duration)
    if value is None:
        return [Finding("technical.duration_invalid", {"value": record.duration[:40]})]
    if not 0 < value <= MAX_SECONDS:
        return [Finding("technical.duration_implausible", {"value": record.duration[:40]})]
    return []


def _format(record: Record, video: bool) -> list[Finding]:
    if record.format is None:
        return []
    if not MIME.fullmatch(record.format.strip().lower()):
        return [Finding("technical.format_invalid", {"value": record.format[:60]})]
    kind = record.format.strip().lower().split("/")[0]
    if video and kind not in ("video", "application"):  # players and packages carry video too
        return [Finding("technical.format_mismatch", {"value": record.format[:60]}, WARN)]
    return []


def check(record: Record, row: Row, context: Context) -> Result:
    video = record.resource_type is not None and media_of(record.resource_type.code) == "video"
    findings = _duration(record, video) + _format(record, video)
    if record.size is not None and not 0 < record.size <= MAX_SIZE:
        findings.append(Finding("technical.size_implausible", {"value": record.size}))
    if record.file_md5 is not None and not MD5.fullmatch(record.file_md5):
        findings.append(Finding("technical.md5_invalid", {"value": record.file_md5[:40]}, WARN))
    if record.url and not record.url.lower().startswith(WEB_SCHEMES):
        findings.append(Finding("technical.url_scheme", {"value": record.url[:60]}))
    if any(not t.lower().startswith(WEB_SCHEMES) for t in record.thumbnails):
        findings.append(Finding("technical.thumbnail_scheme"))
    return Result.of(findings)
