"""The official Elasticsearch client, configured to send plain JSON media types.

elasticsearch-py 9 always rewrites `application/json` and
`application/x-ndjson` into `application/vnd.elasticsearch+json;
compatible-with=9` (the REST compatibility mode) after merging any
`headers=` given to the client or to `.options()`, so `headers=` cannot turn
it off. Elasticsearch accepts plain `application/json` as well; OpenSearch
and osmem-server answer the compat type with HTTP 406. So the client is given
`node_class=PlainJsonNode`, a subclass of the transport's public
`Urllib3HttpNode` that puts the plain media types back on the wire. Nothing
private is patched; every request is one that real Elasticsearch accepts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from elastic_transport import HttpHeaders, Urllib3HttpNode
from elastic_transport.client_utils import DEFAULT, DefaultType
from elasticsearch import Elasticsearch

_COMPAT = re.compile(r"application/vnd\.elasticsearch\+([\w.-]+)\s*;\s*compatible-with=\d+")

RETRY_ON_STATUS = (429, 502, 503, 504)
"""Whole requests retried by the client (429: the cluster is shedding load)."""


class PlainJsonNode(Urllib3HttpNode):
    """An HTTP node that sends `application/json` rather than the compat media type."""

    def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> Any:  # the transport's NodeApiResponse, which it does not export
        if headers:
            headers = HttpHeaders({name: _COMPAT.sub(r"application/\1", value) for name, value in headers.items()})
        return super().perform_request(method, target, body=body, headers=headers, request_timeout=request_timeout)


def hosts_of(url: str | Sequence[str]) -> list[str]:
    """`http://a:9200,http://b:9200` (one setting) or a list → the client's hosts."""
    items = url.split(",") if isinstance(url, str) else list(url)
    hosts = [item.strip() for item in items if item.strip()]
    if not hosts:
        raise ValueError("an Elasticsearch URL is required, e.g. http://127.0.0.1:9200")
    return hosts


def redacted(url: str | Sequence[str]) -> str:
    """The URL(s) for messages and logs: any user:password@ dropped."""
    out = []
    for host in hosts_of(url):
        parts = urlsplit(host if "://" in host else f"http://{host}")
        netloc = parts.netloc.rsplit("@", 1)[-1]
        out.append(urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/"))
    return ",".join(out)


def make_client(
    url: str | Sequence[str],
    *,
    request_timeout: float = 30.0,
    max_retries: int = 3,
    options: Mapping[str, Any] | None = None,
) -> Elasticsearch:
    """A client for `url`; `options` go to Elasticsearch() as is (basic_auth, api_key, ca_certs…)."""
    settings: dict[str, Any] = {
        "node_class": PlainJsonNode,
        "request_timeout": request_timeout,
        "max_retries": max_retries,
        "retry_on_status": RETRY_ON_STATUS,
        "retry_on_timeout": True,
    }
    settings.update(options or {})
    return Elasticsearch(hosts_of(url), **settings)
