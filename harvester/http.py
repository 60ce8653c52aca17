"""The one HTTP client every harvester kind uses, so politeness is decided once.

Why a wrapper around requests: sources are other people's servers (often a
school's small box), so every request carries a User-Agent with a contact,
waits between requests, backs off exponentially on transport errors, 5xx and
429, honours Retry-After (capped), and refuses oversized bodies while
streaming (counted after gzip/deflate decoding, so a compression bomb is
refused too) instead of reading them into memory first.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, BinaryIO

import requests
from requests.structures import CaseInsensitiveDict

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
CHUNK = 64 * 1024
DOWNLOAD_SECONDS = 3600.0  # a whole dump file may take this long (a page: 20 × the timeout)


class FetchError(Exception):
    """A request that did not give a usable response, with a one-line reason."""

    def __init__(self, reason: str, *, url: str = "", status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.url = url
        self.status = status


class TooLarge(FetchError):
    """The body exceeded the size cap: never retried (it would be as large again)."""


@dataclass
class Response:
    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    elapsed: float
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def user_agent(contact: str = "", override: str = "") -> str:
    """Huiju/<version> (+contact): lets a source's administrator see who we are and reach us."""
    if override:
        return override
    try:
        ours = version("huiju")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        ours = "dev"
    return f"Huiju/{ours} (+{contact or 'no contact configured: set HUIJU_HARVEST_CONTACT'})"


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None when absent or garbage."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class HttpClient:
    """GET with retries and a size cap; one per harvest run (it keeps the connection pool)."""

    user_agent: str = field(default_factory=user_agent)
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 2.0
    retry_after_max: float = 600.0
    max_bytes: int = 64 * 1024 * 1024
    delay: float = 0.0
    sleep: Callable[[float], None] = time.sleep
    _session: requests.Session = field(init=False, repr=False)
    _last: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"})

    @classmethod
    def from_settings(cls, settings: Any, options: Mapping[str, Any] | None = None) -> HttpClient:
        """Client from HARVEST_* settings; a source's options (timeout, retries, delay, max_bytes) win."""
        opts = options or {}

        def pick(key: str, name: str, kind: type) -> Any:
            return kind(opts[key]) if key in opts else settings[name]

        return cls(
            user_agent=user_agent(settings["HARVEST_CONTACT"], settings["HARVEST_USER_AGENT"]),
            timeout=pick("timeout", "HARVEST_TIMEOUT", float),
            retries=pick("retries", "HARVEST_RETRIES", int),
            backoff=settings["HARVEST_BACKOFF"],
            retry_after_max=settings["HARVEST_RETRY_AFTER_MAX"],
            max_bytes=pick("max_bytes", "HARVEST_MAX_BYTES", int),
            delay=pick("delay", "HARVEST_DELAY", float),
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def get(self, url: str, params: Mapping[str, str] | None = None) -> Response:
        """The response for any final status; FetchError after the retries are spent.

        Non-2xx answers that are not transient are returned, not raised: an
        OAI-PMH server may carry its protocol error in a 400/422 body.
        """
        return self._retrying(url, params, None, self.max_bytes)

    def download(self, url: str, into: BinaryIO, *, max_bytes: int) -> Response:
        """GET a whole file into ``into`` (a dump too big for memory), with the same politeness and
        retries as get(); the returned Response has empty content. A retry starts the file over."""
        return self._retrying(url, None, into, max_bytes)

    def _retrying(self, url: str, params: Mapping[str, str] | None, sink: BinaryIO | None,
                  max_bytes: int) -> Response:
        attempt = 0
        while True:
            attempt += 1
            wait: float | None = None
            try:
                response = self._once(url, params, sink, max_bytes)
            except TooLarge:
                raise
            except FetchError as exc:
                if attempt > self.retries:
                    raise FetchError(f"{exc.reason} (gave up after {attempt} attempts)", url=url) from None
                log.warning("%s: %s; retry %d of %d", url, exc.reason, attempt, self.retries)
            else:
                response.attempts = attempt
                if response.status not in TRANSIENT_STATUS:
                    return response
                if attempt > self.retries:
                    raise FetchError(f"HTTP {response.status} (gave up after {attempt} attempts)", url=url,
                                     status=response.status)
                wait = retry_after(response.headers.get("Retry-After"))
                if wait is not None:
                    wait = min(wait, self.retry_after_max)
                log.warning("%s: HTTP %d; retry %d of %d", url, response.status, attempt, self.retries)
            if wait is None:
                wait = self.backoff * 2 ** (attempt - 1) * random.uniform(1.0, 1.25)
            self.sleep(wait)

    def _once(self, url: str, params: Mapping[str, str] | None, sink: BinaryIO | None = None,
              max_bytes: int | None = None) -> Response:
        cap = self.max_bytes if max_bytes is None else max_bytes
        if self.delay:
            pause = self._last + self.delay - time.monotonic()
            if pause > 0:
                self.sleep(pause)
        start = time.monotonic()
        took_too_long = self.timeout * 20 if sink is None else max(self.timeout * 20, DOWNLOAD_SECONDS)
        deadline = start + took_too_long
        try:
            with self._session.get(url, params=params, stream=True, timeout=(self.timeout, self.timeout)) as r:
                declared = r.headers.get("Content-Length", "")
                encoded = r.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
                if declared.isdigit() and not encoded and int(declared) > cap:
                    raise TooLarge(self._too_large(int(declared), cap, declared=True), url=r.url,
                                   status=r.status_code)
                if sink is not None:
                    sink.seek(0)
                    sink.truncate()
                chunks: list[bytes] = []
                size = 0
                for chunk in r.iter_content(CHUNK):
                    size += len(chunk)
                    if size > cap:
                        raise TooLarge(self._too_large(size, cap), url=r.url, status=r.status_code)
                    if time.monotonic() > deadline:
                        raise FetchError(f"response took longer than {took_too_long:.0f} s", url=r.url)
                    if sink is None:
                        chunks.append(chunk)
                    else:
                        sink.write(chunk)
                return Response(r.url, r.status_code, CaseInsensitiveDict(r.headers), b"".join(chunks),
                                time.monotonic() - start)
        except requests.RequestException as exc:  # timeouts, resets, cut-off bodies, bad gzip…
            raise FetchError(_describe(exc), url=url) from None
        finally:
            self._last = time.monotonic()

    def _too_large(self, size: int, cap: int, *, declared: bool = False) -> str:
        how = "declares" if declared else "exceeded"
        setting = "HARVEST_MAX_BYTES" if cap == self.max_bytes else "HARVEST_MAX_FILE_BYTES"
        return f"response {how} {size} bytes, above the {cap}-byte cap ({setting})"


def _describe(exc: BaseException) -> str:
    """A one-line, class-named reason (requests nests urllib3's long messages)."""
    text = str(exc).replace("\n", " ")
    if len(text) > 200:
        text = text[:200] + "…"
    return f"{type(exc).__name__}: {text}"


class Ahead:
    """One request in flight while the caller works on the previous response.

    A harvest alternates between waiting for a page (the server builds it) and
    mapping and storing it (our CPU): fetching page n+1 in a thread meanwhile
    overlaps the two, which on a source whose pages take as long to build as to
    map halves the run. Only one request is ever in flight, so a source sees
    the same sequential, polite client (its delay still applies between requests).
    """

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="harvest-ahead")
        self._pending: tuple[Any, Any] | None = None  # (key, future)

    def start(self, key: Any, fetch: Callable[[], Any]) -> None:
        """Begin fetching; a request already in flight for another key is waited for and dropped."""
        self.drop()
        self._pending = (key, self._pool.submit(fetch))

    def take(self, key: Any, fetch: Callable[[], Any]) -> Any:
        """The result for ``key``: the one in flight when it is that key's, else fetched now.
        An exception raised by the fetch is raised here, in the caller's thread."""
        pending, self._pending = self._pending, None
        if pending is not None:
            if pending[0] == key:
                return pending[1].result()
            _wait_quietly(pending[1])
        return fetch()

    def drop(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            _wait_quietly(pending[1])

    def close(self) -> None:
        self.drop()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Ahead:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _wait_quietly(future: Any) -> None:
    """Let a dropped request finish (the client is not shared by two requests at once), ignoring its outcome."""
    try:
        future.result()
    except Exception:  # noqa: BLE001 - the caller did not want this response any more
        pass
