"""Stateless resumption tokens: the request and a keyset cursor, signed and timed.

A token carries everything the next page needs (verb, metadataPrefix, set,
from, until, the (datestamp, work id) of the last item sent, how many items
were sent, and the list size counted on the first page), signed with the
app's secret by itsdangerous. The server keeps no state, a token works on any
server sharing the secret, and each page is one index range scan after the
cursor: the same cost at page 1 and page 5,000, and an item changed mid-
harvest moves behind the cursor instead of shifting its neighbours.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from repository.oai.errors import OaiError

_SALT = "huiju.oai-pmh.resumption-token.v1"


@dataclass(frozen=True)
class Cursor:
    """Where a list stands: its arguments, the last item sent, and counts."""

    verb: str
    metadata_prefix: str | None
    set_spec: str | None
    from_: datetime | None
    until: datetime | None  # exclusive, as in OaiRequest
    after_datestamp: datetime
    after_id: str
    sent: int  # items sent before the next page: the next page's cursor attribute
    total: int  # completeListSize, counted when the list began


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class TokenCodec:
    """Mints and checks tokens; ``clock`` (seconds since the epoch) is injectable for tests."""

    def __init__(self, secret: str | bytes, lifetime: int, clock: Callable[[], float] = time.time) -> None:
        self.lifetime = lifetime
        self.clock = clock

        class _Signer(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock())

        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT, signer=_Signer)

    def dump(self, cursor: Cursor) -> tuple[str, datetime]:
        """(token, expirationDate)."""
        payload = [cursor.verb, cursor.metadata_prefix, cursor.set_spec, _iso(cursor.from_), _iso(cursor.until),
                   _iso(cursor.after_datestamp), cursor.after_id, cursor.sent, cursor.total]
        token = self._serializer.dumps(payload)
        expires = datetime.fromtimestamp(int(self.clock()), UTC) + timedelta(seconds=self.lifetime)
        return token, expires

    def load(self, token: str, verb: str) -> Cursor:
        """The cursor in ``token``, or badResumptionToken when forged, expired or for another verb."""
        try:
            payload = self._serializer.loads(token, max_age=self.lifetime)
        except SignatureExpired:
            raise OaiError("badResumptionToken", "this resumptionToken has expired; start the list again") from None
        except BadData:
            raise OaiError("badResumptionToken", "this resumptionToken was not issued by this repository") from None
        try:
            token_verb, prefix, set_spec, start, end, after, after_id, sent, total = payload
            cursor = Cursor(token_verb, prefix, set_spec, _when(start), _when(end), _when(after) or _never(),
                            str(after_id), int(sent), int(total))
        except (TypeError, ValueError):
            raise OaiError("badResumptionToken", "this resumptionToken is malformed") from None
        if cursor.verb != verb:
            raise OaiError("badResumptionToken", f"this resumptionToken continues {cursor.verb}, not {verb}")
        return cursor


def _never() -> datetime:
    raise ValueError("token without a cursor")
