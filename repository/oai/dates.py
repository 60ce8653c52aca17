"""OAI-PMH UTC datestamps: strict parsing of from/until, and formatting.

The repository's granularity is seconds; requests may use days or seconds.
Stored datestamps carry microseconds, so bounds are turned into half-open
intervals: ``until=2025-01-02T10:00:00Z`` means "before 10:00:01", and
``until=2025-01-02`` "before 2025-01-03", which keeps both ends inclusive
at the granularity the harvester used.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from repository.oai.errors import OaiError

DAY = "YYYY-MM-DD"
SECONDS = "YYYY-MM-DDThh:mm:ssZ"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def parse_bound(name: str, text: str) -> tuple[datetime, str]:
    """(start of the given day or second as aware UTC, granularity); badArgument if malformed."""
    try:
        if _DAY.match(text):
            return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC), DAY
        if _SECONDS.match(text):
            return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC), SECONDS
    except ValueError:
        pass  # e.g. 2025-02-30: right shape, no such date
    raise OaiError("badArgument", f"{name}={text!r} is not a UTC date (YYYY-MM-DD) or time (YYYY-MM-DDThh:mm:ssZ)")


def until_exclusive(start: datetime, granularity: str) -> datetime:
    """The first instant after an inclusive ``until`` of this granularity."""
    return start + (timedelta(days=1) if granularity == DAY else timedelta(seconds=1))


def datestamp(value: datetime) -> str:
    """A stored datestamp at the repository's granularity (truncated: never later than the truth)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
