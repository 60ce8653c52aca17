"""Resumption tokens: stateless, signed, timed, tied to their verb."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from repository.oai.errors import OaiError
from repository.oai.tokens import Cursor, TokenCodec

NOW = 1_750_000_000.0
CURSOR = Cursor("ListRecords", "oai_dc", "subject:math", datetime(2025, 1, 1, tzinfo=UTC), None,
                datetime(2025, 5, 1, 3, 4, 5, 678901, tzinfo=UTC), "w0123", 400, 1234)


def codec(at: float = NOW, secret: str = "s3cret") -> TokenCodec:
    return TokenCodec(secret, 86400, clock=lambda: at)


def test_round_trip_keeps_microseconds_and_expires_in_a_day() -> None:
    token, expires = codec().dump(CURSOR)
    assert codec().load(token, "ListRecords") == CURSOR
    assert expires == datetime.fromtimestamp(NOW, UTC) + timedelta(days=1)
    assert len(token) < 300 and token.isascii()


def bad(token: str, verb: str = "ListRecords", at: float = NOW, secret: str = "s3cret") -> str:
    with pytest.raises(OaiError) as caught:
        codec(at, secret).load(token, verb)
    assert caught.value.code == "badResumptionToken"
    return caught.value.message


def test_tampered_forged_expired_and_wrong_verb_tokens_are_refused() -> None:
    token, _ = codec().dump(CURSOR)
    i = len(token) // 3  # inside the payload
    assert "not issued" in bad(token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:])
    assert "not issued" in bad(token, secret="another")
    assert "not issued" in bad("garbage")
    assert "expired" in bad(token, at=NOW + 86401)
    codec(NOW + 86399).load(token, "ListRecords")  # still valid just before
    assert "ListRecords" in bad(token, verb="ListIdentifiers")
