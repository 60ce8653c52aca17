"""The polite HTTP client against real local servers that misbehave on purpose."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from harvester.http import FetchError, HttpClient, TooLarge, retry_after, user_agent
from repository.settings import Settings
from tests.harvester.servers import Reply, Request, Server


def sequence(*replies: Reply) -> tuple[list[Reply], object]:
    """An app answering with ``replies`` in turn, then 200 "done"."""
    queue = list(replies)

    def app(_request: Request) -> Reply:
        return queue.pop(0) if queue else Reply(body=b"done")

    return queue, app


def client(**kw: object) -> tuple[HttpClient, list[float]]:
    waits: list[float] = []
    options = {"timeout": 2.0, "retries": 3, "backoff": 0.01, "retry_after_max": 5.0, "sleep": waits.append}
    options.update(kw)
    return HttpClient(**options), waits  # type: ignore[arg-type]


def test_user_agent_names_huiju_and_the_contact(server: Server) -> None:
    _, server.app = sequence()
    http = HttpClient.from_settings(Settings(environ={"HUIJU_HARVEST_CONTACT": "mailto:ops@district.example"}))
    assert http.get(server.url + "/x").content == b"done"
    sent = server.requests[0].headers["user-agent"]
    assert sent.startswith("Huiju/") and "(+mailto:ops@district.example)" in sent
    assert "gzip" in server.requests[0].headers["accept-encoding"]
    assert user_agent(override="Custom/1") == "Custom/1"


def test_500_then_success_is_retried_with_exponential_backoff(server: Server) -> None:
    _, server.app = sequence(Reply(500), Reply(502))
    http, waits = client(backoff=0.5)
    response = http.get(server.url + "/")
    assert response.content == b"done" and response.attempts == 3
    assert 0.5 <= waits[0] <= 0.63 and 1.0 <= waits[1] <= 1.26  # 0.5 then 1.0, with up to 25% jitter


def test_503_retry_after_seconds_and_http_date_are_honoured_and_capped(server: Server) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    _, server.app = sequence(
        Reply(503, headers={"Retry-After": "2"}),
        Reply(503, headers={"Retry-After": later}),
        Reply(503, headers={"Retry-After": "86400"}),
    )
    http, waits = client(retry_after_max=4.0)
    assert http.get(server.url + "/").status == 200
    assert waits[0] == 2.0
    assert 1.0 <= waits[1] <= 3.0
    assert waits[2] == 4.0  # a day is cut to the cap


def test_429_is_retried_then_gives_up_clearly(server: Server) -> None:
    queue, server.app = sequence(*[Reply(429, headers={"Retry-After": "1"})] * 10)
    http, waits = client(retries=2)
    with pytest.raises(FetchError, match=r"HTTP 429 \(gave up after 3 attempts\)"):
        http.get(server.url + "/")
    assert waits == [1.0, 1.0] and len(server.requests) == 3


def test_client_errors_are_returned_not_retried(server: Server) -> None:
    _, server.app = sequence(Reply(422, body=b"<OAI-PMH/>"))
    http, waits = client()
    response = http.get(server.url + "/")
    assert response.status == 422 and not response.ok and response.content == b"<OAI-PMH/>" and waits == []


def test_connection_reset_mid_page_is_retried(server: Server) -> None:
    body = b"<x>" + b"a" * 200_000 + b"</x>"
    _, server.app = sequence(Reply(body=body, fault="reset"), Reply(body=body))
    http, waits = client()
    assert http.get(server.url + "/").content == body
    assert len(waits) == 1 and len(server.requests) == 2


def test_body_cut_off_before_content_length_is_retried(server: Server) -> None:
    body = b"<x>" + b"b" * 100_000 + b"</x>"
    _, server.app = sequence(Reply(body=body, fault="cut"), Reply(body=body))
    http, _ = client()
    assert http.get(server.url + "/").content == body


def test_slow_server_beyond_the_timeout_fails_after_retries(server: Server) -> None:
    _, server.app = sequence(*[Reply(body=b"late", delay=0.6)] * 5)
    http, _ = client(timeout=0.2, retries=1)
    start = time.monotonic()
    with pytest.raises(FetchError, match="(?i)timed? ?out"):
        http.get(server.url + "/")
    assert time.monotonic() - start < 3


def test_unreachable_server_is_a_fetch_error() -> None:
    http, waits = client(retries=1)
    with pytest.raises(FetchError, match="ConnectionError"):
        http.get("http://127.0.0.1:9/")  # discard port: nobody listens
    assert len(waits) == 1


BIG = 50 * 1024 * 1024


@pytest.fixture(scope="module")
def big_body() -> bytes:
    return b"<page>" + b"x" * (BIG - 13) + b"</page>"


def test_a_50_mb_page_is_refused_above_the_cap_and_not_retried(server: Server, big_body: bytes) -> None:
    _, server.app = sequence(*[Reply(body=big_body, stream_chunks=50)] * 3)
    http, waits = client(max_bytes=10 * 1024 * 1024)
    with pytest.raises(TooLarge, match="above the 10485760-byte cap"):
        http.get(server.url + "/")
    assert waits == [] and len(server.requests) == 1


def test_a_50_mb_page_streamed_without_length_is_cut_off_at_the_cap(server: Server, big_body: bytes) -> None:
    # gzip hides the real size behind a small Content-Length: the cap counts decoded bytes
    _, server.app = sequence(Reply(body=big_body, compress=True))
    http, _ = client(max_bytes=10 * 1024 * 1024)
    with pytest.raises(TooLarge, match="exceeded"):
        http.get(server.url + "/")


def test_a_50_mb_page_is_accepted_below_the_cap(server: Server, big_body: bytes) -> None:
    _, server.app = sequence(Reply(body=big_body, stream_chunks=50))
    http, _ = client(max_bytes=64 * 1024 * 1024)
    assert len(http.get(server.url + "/").content) == BIG


@pytest.mark.parametrize("accept", ["gzip", "deflate"])
def test_gzip_and_deflate_bodies_are_decoded(server: Server, corpus: Path, accept: str) -> None:
    page = (corpus / "oai-pmh/pyoai/fake2/00002.xml").read_bytes()
    _, server.app = sequence(Reply(body=page, compress=True))
    http, _ = client()
    http._session.headers["Accept-Encoding"] = accept
    response = http.get(server.url + "/")
    assert response.content == page and response.headers["Content-Encoding"] == accept


def test_delay_between_requests(server: Server) -> None:
    _, server.app = sequence()
    http, waits = client(delay=0.3)
    http.get(server.url + "/")
    http.get(server.url + "/")
    assert len(waits) == 1 and 0.2 < waits[0] <= 0.3


def test_retry_after_parsing() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert retry_after("120") == 120.0
    assert retry_after("Wed, 01 May 2024 12:01:00 GMT", now=now) == 60.0
    assert retry_after("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0
    assert retry_after("soon") is None and retry_after(None) is None


def test_ahead_fetches_the_next_page_while_the_caller_works_and_raises_in_the_caller(server: Server) -> None:
    from harvester.http import Ahead

    server.app = lambda request: Reply(status=404 if request.path.endswith("/gone") else 200,
                                       body=request.path.encode())
    http, _ = client(retries=0)
    with Ahead() as ahead:
        ahead.start("/a", lambda: http.get(server.url + "/a"))
        deadline = time.monotonic() + 5
        while len(server.requests) < 1 and time.monotonic() < deadline:  # in flight before anyone asks
            time.sleep(0.01)
        assert len(server.requests) == 1
        assert ahead.take("/a", lambda: http.get(server.url + "/never")).content == b"/a"
        ahead.start("/b", lambda: http.get(server.url + "/b"))
        assert ahead.take("/c", lambda: http.get(server.url + "/c")).content == b"/c"  # /b was dropped
        assert [r.path for r in server.requests] == ["/a", "/b", "/c"]
        ahead.start("/x", lambda: http.get("http://127.0.0.1:9/refused"))
        with pytest.raises(FetchError):
            ahead.take("/x", lambda: http.get(server.url + "/never"))
