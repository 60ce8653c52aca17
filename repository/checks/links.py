"""Link alive, without becoming a way into our own network (SSRF).

A harvested URL is somebody else's text: ``http://169.254.169.254/`` (a cloud
metadata service), ``http://127.0.0.1:5432/`` or a public name that redirects
to ``http://10.0.0.5/`` would make Huiju probe its own network. So:

- only http and https;
- the host is resolved here and *every* address it resolves to must be public
  (not private, loopback, link-local, multicast, reserved, unspecified, nor a
  cloud metadata address; IPv4 inside IPv6 — mapped, 6to4, NAT64 — is judged
  as the IPv4 address); a source whose options say ``local_links = true`` (the
  demo's 127.0.0.1 platforms, an intranet school platform) may use private,
  loopback and link-local addresses, or with ``local_links = ["10.8.0.0/16"]``
  only those networks; metadata addresses never;
- the connection goes to the address that was checked (urllib3 pool on the IP,
  Host header and TLS name from the URL): no second lookup an attacker's DNS
  could answer differently (DNS rebinding);
- redirects are followed here, one hop at a time, each hop checked like the
  first, at most CHECKS_LINK_MAX_REDIRECTS;
- HEAD first, GET when the server answers 405 or 501 (remembered per server);
  no body is ever read; CHECKS_LINK_TIMEOUT bounds connecting and each read;
  CHECKS_LINK_CONCURRENCY links are checked at once.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import urllib3
from requests.certs import where as ca_bundle
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)

from repository.checks.base import WARN, Finding, Result

CODES = ("link.no_url", "link.scheme", "link.bad_url", "link.blocked", "link.dns", "link.timeout",
         "link.unreachable", "link.tls", "link.status", "link.redirects", "link.redirected")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Tencent Cloud
    "169.254.170.2",  # AWS ECS task metadata
    "169.254.169.253",  # AWS DNS
    "100.100.100.200",  # Alibaba Cloud
    "fd00:ec2::254",  # AWS over IPv6
    "fd00:ec2::23",
))
NAT64 = ipaddress.ip_network("64:ff9b::/96")
LOCAL_ALLOWED = frozenset({"loopback", "private", "link_local"})
"""What a source marked local may reach; metadata, multicast, reserved and unspecified stay refused."""
FALLBACK_TO_GET = frozenset({405, 501})
DOUBTFUL = frozenset({401, 403, 429})  # alive but not for us: warn, not fail
Resolver = Callable[[str, int], list[str]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Local = bool | tuple[Network, ...]
"""What a source may reach besides public addresses: nothing (False), every private/loopback/link-local
address (True), or only these networks."""


def local_option(value: object) -> Local:
    """A source's ``local_links`` option as a Local; ValueError names a bad network."""
    if value is None or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        try:
            return tuple(ipaddress.ip_network(str(v), strict=False) for v in value)
        except ValueError as exc:
            raise ValueError(f"local_links: {exc}") from None
    raise ValueError(f"local_links: expected true, false or a list of networks, not {value!r}")


def permitted(ip: IPAddress, local: Local) -> str | None:
    """Why ip may not be contacted by a source with this Local, None when it may."""
    reason = refusal(ip)
    if reason is None or reason not in LOCAL_ALLOWED or local is False:
        return reason
    if local is True:
        return None
    return None if any(ip.version == net.version and ip in net for net in local) else reason


def refusal(ip: IPAddress) -> str | None:
    """Why an address may not be contacted ("loopback", "metadata" …), None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None)
        if inner is not None and (reason := refusal(inner)):
            return reason
        if ip.teredo and (reason := refusal(ip.teredo[1])):
            return reason
    if ip in METADATA:
        return "metadata"
    for reason, test in (("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback),
                         ("link_local", ip.is_link_local), ("multicast", ip.is_multicast),
                         ("reserved", ip.is_reserved), ("private", ip.is_private)):
        if test:
            return reason
    return None if ip.is_global else "reserved"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the host resolves to (IP literals resolve to themselves)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Refused(Exception):
    """A hop that must not be requested; carries the finding that says why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.code)
        self.finding = finding


@dataclass
class LinkChecker:
    """Checks URLs; one instance may be shared by threads."""

    timeout: float = 5.0
    max_redirects: int = 5
    concurrency: int = 8
    user_agent: str = "Huiju link checker"
    resolver: Resolver = system_resolver
    _no_head: set[tuple[str, str, int]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Any) -> LinkChecker:
        from harvester.http import user_agent

        return cls(timeout=settings["CHECKS_LINK_TIMEOUT"], max_redirects=settings["CHECKS_LINK_MAX_REDIRECTS"],
                   concurrency=settings["CHECKS_LINK_CONCURRENCY"],
                   user_agent=user_agent(settings["HARVEST_CONTACT"], settings["HARVEST_USER_AGENT"]))

    def check_many(self, links: Iterable[tuple[str, str | None, Local]]) -> dict[str, Result]:
        """{key: Result} for (key, url, local) triples, at most ``concurrency`` at a time."""
        todo = list(links)
        if not todo:
            return {}
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency), thread_name_prefix="link") as pool:
            results = pool.map(lambda item: self.check(item[1], local=item[2]), todo)
            return {key: result for (key, _url, _local), result in zip(todo, results, strict=True)}

    def check(self, url: str | None, *, local: Local = False) -> Result:
        """The link's outcome: pass (answered 2xx), warn (401/403/429) or fail with the reason."""
        if not url:
            return Result.of([Finding("link.no_url", outcome="pass")])
        deadline = time.monotonic() + self.timeout * (self.max_redirects + 2) * 2
        hops = 0
        try:
            while True:
                status, location = self._hop(url, local)
                if 300 <= status < 400 and status != 304 and location:
                    hops += 1
                    if hops > self.max_redirects:
                        return Result.of([Finding("link.redirects", {"n": self.max_redirects})])
                    if time.monotonic() > deadline:
                        return Result.of([Finding("link.timeout", {"seconds": self.timeout})])
                    url = urljoin(url, location.strip())
                    continue
                return _verdict(status, hops)
        except Refused as refused:
            finding = refused.finding
            return Result.of([Finding(finding.code, {**finding.args, "hop": hops})])
        except (ValueError, UnicodeError) as exc:  # hostile URL text the HTTP layer cannot even send
            return Result.of([Finding("link.bad_url", {"error": type(exc).__name__, "hop": hops})])

    def _hop(self, url: str, local: Local) -> tuple[int, str | None]:
        """(status, Location) of one request to url, to an address checked first."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise Refused(Finding("link.scheme", {"scheme": scheme[:20]}))
        try:
            host, port = parts.hostname, parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise Refused(Finding("link.bad_url")) from None
        if not host:
            raise Refused(Finding("link.bad_url"))
        try:
            host = host.encode("idna").decode("ascii")  # 例子.中国 -> xn--fsqu00a.xn--fiqs8s, for DNS and Host
        except UnicodeError:
            raise Refused(Finding("link.bad_url")) from None
        address = self._address(host, port, local)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        server = (scheme, host, port)
        method = "GET" if server in self._no_head else "HEAD"
        status, location = self._request(scheme, host, port, address, method, target)
        if method == "HEAD" and status in FALLBACK_TO_GET:
            with self._lock:
                self._no_head.add(server)
            status, location = self._request(scheme, host, port, address, "GET", target)
        return status, location

    def _address(self, host: str, port: int, local: Local) -> str:
        """The address to connect to; Refused when any address of the host is off limits."""
        try:
            addresses = self.resolver(host, port)
        except (OSError, UnicodeError):
            raise Refused(Finding("link.dns", {"host": host[:80]})) from None
        if not addresses:
            raise Refused(Finding("link.dns", {"host": host[:80]}))
        for address in addresses:
            reason = permitted(ipaddress.ip_address(address.split("%")[0]), local)
            if reason:
                raise Refused(Finding("link.blocked", {"host": host[:80], "address": address, "reason": reason}))
        return addresses[0]

    def _request(self, scheme: str, host: str, port: int, address: str, method: str,
                 target: str) -> tuple[int, str | None]:
        timeout = urllib3.Timeout(connect=self.timeout, read=self.timeout)
        pool: urllib3.HTTPConnectionPool
        if scheme == "https":
            pool = urllib3.HTTPSConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1,
                                               server_hostname=host, assert_hostname=host,
                                               cert_reqs="CERT_REQUIRED", ca_certs=ca_bundle())
        else:
            pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
        shown = f"[{host}]" if ":" in host else host
        default = 443 if scheme == "https" else 80
        headers = {"Host": shown if port == default else f"{shown}:{port}", "User-Agent": self.user_agent,
                   "Accept": "*/*", "Connection": "close"}
        try:
            response = pool.urlopen(method, target, headers=headers, redirect=False, retries=False,
                                    preload_content=False, assert_same_host=False, release_conn=False)
            try:
                return response.status, response.headers.get("Location")
            finally:
                response.close()  # the body is never read
        except HTTPError as exc:
            raise Refused(_transport_finding(exc, self.timeout)) from None
        except OSError as exc:
            raise Refused(Finding("link.unreachable", {"error": type(exc).__name__})) from None
        finally:
            pool.close()


def _transport_finding(exc: HTTPError, timeout: float) -> Finding:
    if isinstance(exc, MaxRetryError) and isinstance(exc.reason, HTTPError):
        exc = exc.reason
    if isinstance(exc, NameResolutionError):  # subclasses first: NewConnectionError is a ConnectTimeoutError
        return Finding("link.dns", {"host": ""})
    if isinstance(exc, NewConnectionError):
        return Finding("link.unreachable", {"error": "refused"})
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return Finding("link.timeout", {"seconds": timeout})
    if isinstance(exc, SSLError):
        return Finding("link.tls")
    return Finding("link.unreachable", {"error": type(exc).__name__})


def _verdict(status: int, hops: int) -> Result:
    if 200 <= status < 300 or status == 304:
        return Result.of([Finding("link.redirected", {"n": hops}, "pass")] if hops else [])
    outcome = WARN if status in DOUBTFUL else "fail"
    return Result.of([Finding("link.status", {"status": status}, outcome)])
