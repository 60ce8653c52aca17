"""The link checker against real HTTP servers on 127.0.0.1: alive, dead, refused (SSRF), redirects, timeouts."""

from __future__ import annotations

import ipaddress
import time
from typing import Any

import pytest

from repository.checks.links import LinkChecker, local_option, permitted, refusal
from tests.checks.conftest import codes

LOOPBACK_ONLY = (ipaddress.ip_network("127.0.0.1/32"),)


def checker(**kwargs: Any) -> LinkChecker:
    return LinkChecker(**{"timeout": 2.0, **kwargs})


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"), ("192.168.0.1", "private"),
    ("172.16.5.4", "private"), ("169.254.1.1", "link_local"), ("fe80::1", "link_local"),
    ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"), ("100.100.100.200", "metadata"),
    ("::ffff:169.254.169.254", "metadata"), ("::ffff:10.0.0.1", "private"), ("64:ff9b::a00:1", "private"),
    ("2002:7f00:1::", "loopback"), ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"), ("240.0.0.1", "reserved"), ("100.64.0.1", "reserved"), ("fc00::5", "private"),
    ("93.184.216.34", None), ("2400:3200::1", None), ("114.114.114.114", None),
])
def test_refusal_names_every_kind_of_off_limits_address(address: str, reason: str | None) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


def test_local_sources_reach_private_addresses_but_never_metadata() -> None:
    loop, meta, lan = (ipaddress.ip_address(a) for a in ("127.0.0.1", "169.254.169.254", "10.0.0.5"))
    assert permitted(loop, False) == "loopback" and permitted(loop, True) is None
    assert permitted(meta, True) == "metadata" and permitted(meta, LOOPBACK_ONLY) == "metadata"
    assert permitted(lan, True) is None and permitted(lan, LOOPBACK_ONLY) == "private"
    assert local_option(["10.8.0.0/16"]) == (ipaddress.ip_network("10.8.0.0/16"),)
    assert local_option(True) is True and local_option(None) is False
    with pytest.raises(ValueError, match="local_links"):
        local_option(["not a network"])


def test_alive_dead_and_doubtful_on_a_local_source(http_site: Any) -> None:
    check = checker()
    assert check.check(f"{http_site.base}/ok", local=True).outcome == "pass"
    dead = check.check(f"{http_site.base}/gone", local=True)
    assert dead.outcome == "fail" and dead.findings[0].args == {"status": 404}
    doubtful = check.check(f"{http_site.base}/private", local=True)
    assert doubtful.outcome == "warn" and codes(doubtful) == ["link.status"]
    assert [m for m, _p, _h in http_site.seen] == ["HEAD", "HEAD", "HEAD"]  # no body asked for


def test_loopback_refused_unless_the_source_is_local(http_site: Any) -> None:
    result = checker().check(f"{http_site.base}/ok", local=False)
    assert result.outcome == "fail" and codes(result) == ["link.blocked"]
    assert result.findings[0].args["reason"] == "loopback"
    assert http_site.seen == []  # refused before connecting
    assert checker().check(f"{http_site.base}/ok", local=LOOPBACK_ONLY).outcome == "pass"


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/",
                                 "http://[::ffff:169.254.169.254]/", "http://100.100.100.200/latest/meta-data/"])
def test_metadata_addresses_are_refused_even_for_local_sources(url: str) -> None:
    started = time.monotonic()
    for local in (False, True):
        result = checker().check(url, local=local)
        assert codes(result) == ["link.blocked"] and result.findings[0].args["reason"] == "metadata"
    assert time.monotonic() - started < 1  # nothing was contacted


@pytest.mark.parametrize("url", ["ftp://res.example.edu.cn/a.ppt", "file:///etc/passwd", "javascript:alert(1)",
                                 "gopher://127.0.0.1:25/", "data:text/html,hi"])
def test_only_http_and_https(url: str) -> None:
    result = checker().check(url, local=True)
    assert result.outcome == "fail" and codes(result) == ["link.scheme"]


def test_a_redirect_to_a_private_address_is_refused_at_that_hop(http_site: Any) -> None:
    """The first hop is allowed (this source may use 127.0.0.1 only); its redirect to 10.0.0.5 is not."""
    result = checker().check(f"{http_site.base}/redirect?to=http://10.0.0.5/admin", local=LOOPBACK_ONLY)
    assert codes(result) == ["link.blocked"]
    assert result.findings[0].args == {"host": "10.0.0.5", "address": "10.0.0.5", "reason": "private", "hop": 1}
    metadata = checker().check(f"{http_site.base}/redirect?to=http://169.254.169.254/", local=True)
    assert metadata.findings[0].args["reason"] == "metadata"
    scheme = checker().check(f"{http_site.base}/redirect?to=file:///etc/passwd", local=True)
    assert codes(scheme) == ["link.scheme"]
    assert [p for _m, p, _h in http_site.seen] == ["/redirect?to=http://10.0.0.5/admin",
                                                   "/redirect?to=http://169.254.169.254/",
                                                   "/redirect?to=file:///etc/passwd"]


def test_redirects_are_followed_and_bounded(http_site: Any) -> None:
    followed = checker().check(f"{http_site.base}/redirect?to=/ok", local=True)
    assert followed.outcome == "pass" and followed.findings[0].args == {"n": 1}
    looping = checker(max_redirects=3).check(f"{http_site.base}/loop", local=True)
    assert looping.outcome == "fail" and codes(looping) == ["link.redirects"]
    assert sum(p == "/loop" for _m, p, _h in http_site.seen) == 4


def test_head_refused_falls_back_to_get_and_is_remembered(http_site: Any) -> None:
    check = checker()
    assert check.check(f"{http_site.base}/get-only", local=True).outcome == "pass"
    assert check.check(f"{http_site.base}/get-only", local=True).outcome == "pass"
    assert [m for m, _p, _h in http_site.seen] == ["HEAD", "GET", "GET"]


def test_a_huge_body_is_never_read(http_site: Any) -> None:
    started = time.monotonic()
    assert checker().check(f"{http_site.base}/huge", local=True).outcome == "pass"
    assert time.monotonic() - started < 2  # 10 GB were announced


def test_connects_to_the_checked_address_with_the_urls_host_name(http_site: Any) -> None:
    """lessons.test resolves (once, here) to 127.0.0.1; the request carries Host: lessons.test:port."""
    port = int(http_site.base.rsplit(":", 1)[1])
    lookups: list[str] = []

    def resolver(host: str, _port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if host == "lessons.test" else []

    result = checker(resolver=resolver).check(f"http://lessons.test:{port}/host", local=True)
    assert result.outcome == "pass" and lookups == ["lessons.test"]
    assert http_site.seen[-1][2] == f"lessons.test:{port}"


def test_a_host_with_any_off_limits_address_is_refused(http_site: Any) -> None:
    """A name resolving to an allowed and a forbidden address (DNS tricks) is refused outright."""
    port = int(http_site.base.rsplit(":", 1)[1])
    result = checker(resolver=lambda _h, _p: ["127.0.0.1", "10.0.0.1"]).check(
        f"http://lessons.test:{port}/ok", local=LOOPBACK_ONLY)
    assert codes(result) == ["link.blocked"] and result.findings[0].args["address"] == "10.0.0.1"
    assert http_site.seen == []


def test_unknown_host_and_closed_port_fail_with_a_reason() -> None:
    assert codes(checker().check("http://no-such-host.invalid/x")) == ["link.dns"]
    closed = checker().check("http://127.0.0.1:9/", local=True)  # discard port: nothing listens
    assert closed.outcome == "fail" and codes(closed) == ["link.unreachable"]


def test_a_server_that_never_answers_times_out(silent_port: int) -> None:
    started = time.monotonic()
    result = checker(timeout=0.5).check(f"http://127.0.0.1:{silent_port}/slow", local=True)
    assert time.monotonic() - started < 3
    assert result.outcome == "fail" and codes(result) == ["link.timeout"]


def test_check_many_checks_in_parallel_and_keeps_keys(http_site: Any, silent_port: int) -> None:
    links = [(f"r{i}", f"{http_site.base}/{'ok' if i % 2 else 'gone'}", True) for i in range(10)]
    links.append(("slow", f"http://127.0.0.1:{silent_port}/", True))
    started = time.monotonic()
    results = checker(timeout=0.5, concurrency=4).check_many(links)
    assert time.monotonic() - started < 3
    assert {k: r.outcome for k, r in results.items()} == {
        **{f"r{i}": "pass" if i % 2 else "fail" for i in range(10)}, "slow": "fail"}


def test_a_bad_local_links_option_is_refused_when_the_source_is_registered() -> None:
    from harvester.sources import SourceSpec

    bad = SourceSpec("intranet", "oai", "http://10.8.0.2/oai", "school", {"local_links": ["not-a-network"]})
    assert any("local_links" in problem for problem in bad.problems())
    for value in (True, ["10.8.0.0/16"]):
        assert SourceSpec("intranet", "crawl", "http://10.8.0.2/", "school", {"local_links": value}).problems() == []


def test_hostile_url_text_fails_cleanly(http_site: Any) -> None:
    port = int(http_site.base.rsplit(":", 1)[1])
    for url in (f"http://127.0.0.1:{port}/a b\r\nX-Injected: 1", "http://[::1/", "http://exa mple.com/",
                "http://" + "a" * 300 + ".cn/"):
        result = checker().check(url, local=True)
        assert result.outcome == "fail", url
    assert not any("X-Injected" in str(h) for _m, _p, h in http_site.seen)
    resolved: list[str] = []
    checker(resolver=lambda h, _p: resolved.append(h) or ["127.0.0.1"]).check(f"http://例子.中国:{port}/ok", local=True)
    assert resolved == ["xn--fsqu00a.xn--fiqs8s"]
    assert http_site.seen[-1][2] == f"xn--fsqu00a.xn--fiqs8s:{port}"
