"""Access control over every route of the site and the API, from the Flask URL map.

Every endpoint must appear in POLICY (who may call it, which methods change
state, a valid form for those): an endpoint added without a review fails
`test_every_endpoint_is_classified`. Then, for anonymous, curator and admin:
anonymous is sent to the login page (HTML) or gets 401 JSON (API), the wrong
role 403, the right role 2xx/3xx; every state-changing request without a CSRF
token is refused and leaves the store exactly as it was. Also: session
rotation at login, logout revoking the cookie, open redirects through
``next=``, the login rate limit, and passwords never reaching a log, the audit
log or the CLI's output. URL parameters are real ids from the site fixture.
"""

from __future__ import annotations

import html
import itertools
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.routing import Rule
from werkzeug.security import generate_password_hash
from werkzeug.test import TestResponse

from repository.models import AuditLog, Base, Quarantine, RecordRow, Source, User
from repository.oai.formats import SCHEMAS
from repository.settings import Settings
from tests.site.conftest import Site, _app, _instance

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Ac1-pass:phrase-never-logged"
CURATOR, ADMIN = "acl-curator", "acl-admin"
TARGET = "acl-target"  # the account the admin user routes change
FAST_HASH = "pbkdf2:sha256:1000"
"""The fixture's accounts sign in hundreds of times: a cheap hash keeps that in seconds (scrypt, the
default, costs ~0.3 s a check here); the timing test uses the default."""
ROLES = ("anonymous", "curator", "admin")
READ = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Policy:
    """Who may call an endpoint. `changes`: its state-changing methods; `form`: a body for them that does
    change the store (so a refusal that failed would show); `params`: URL values besides samples()."""

    access: str  # "public", "curator" (curators and admins) or "admin"
    changes: frozenset[str] = frozenset()
    form: Callable[[Site], dict[str, str]] = lambda _site: {}
    params: Callable[[Site], dict[str, str]] = lambda _site: {}
    reads_by_post: bool = False  # POST is part of a read-only protocol (OAI-PMH): no CSRF, no state change
    bearer: bool = False  # signed in by `Authorization: Bearer` (JSON body) only, never by the session cookie


POST = frozenset({"POST"})
_serial = itertools.count(1)


def decision(site: Site) -> dict[str, str]:
    """Return or reject the sample record, whichever changes its status."""
    with site.store.session() as s:
        status = s.scalar(select(RecordRow.review_status).where(RecordRow.id == samples(site)["record_id"]))
    return {"decision": "reject" if status == "returned" else "return", "comment": "acl test"}


def pending_by_source(site: Site) -> list[tuple[str, int]]:
    """(source, pending live records), fewest first: approve_all takes the small sources, approve_selected
    one record of the biggest, so each request of the tests still has something to change."""
    with site.store.session() as s:
        rows = s.execute(select(Source.name, func.count()).join(RecordRow, RecordRow.source_id == Source.id)
                         .where(RecordRow.review_status == "pending", RecordRow.deleted.is_(False))
                         .group_by(Source.name).order_by(func.count(), Source.name)).all()
    assert rows, "no pending record is left in the fixture"
    return [(name, n) for name, n in rows]


def pending_source(site: Site) -> dict[str, str]:
    return {"source": pending_by_source(site)[0][0]}


def pending_record(site: Site) -> dict[str, str]:
    source = site.store.get_source(pending_by_source(site)[-1][0])
    assert source is not None
    with site.store.session() as s:
        return {"record": s.scalar(select(func.min(RecordRow.id)).where(
            RecordRow.source_id == source.id, RecordRow.review_status == "pending", RecordRow.deleted.is_(False)))}


def new_source(_site: Site) -> dict[str, str]:
    return {"name": f"acl-source-{next(_serial)}", "kind": "oai", "location": "http://127.0.0.1:9/oai",
            "level": "district", "enabled": "on"}


def toggle_source(site: Site) -> dict[str, str]:
    """The edit form of the "evil2" source as it is, with `enabled` flipped."""
    source = site.store.get_source("evil2")
    assert source is not None
    form = {"location": source.location, "level": source.level or "", "schedule": source.schedule or ""}
    form.update({"auto_approve": "on"} if source.auto_approve else {})
    form.update({} if source.enabled else {"enabled": "on"})
    return form


def new_user(_site: Site) -> dict[str, str]:
    secret = f"acl-new-user-pass-{next(_serial)}"
    return {"username": f"acl-user-{next(_serial)}", "password": secret, "password2": secret, "role": "curator"}


def toggle_user(site: Site) -> dict[str, str]:
    with site.store.session() as s:
        active = s.scalar(select(User.active).where(User.username == TARGET))
    return {"action": "deactivate" if active else "reactivate"}


POLICY: dict[str, Policy] = {
    "static": Policy("public"),
    "pages.index": Policy("public"),
    "pages.browse_tree": Policy("public"),
    "pages.search": Policy("public"),
    "pages.work": Policy("public"),
    "pages.record": Policy("public"),
    "api.openapi_document": Policy("public"),
    "api.search": Policy("public"),
    "api.work": Policy("public"),
    "api.record": Policy("public"),
    "api.review": Policy("curator", POST, decision, bearer=True),
    "oai.endpoint": Policy("public", reads_by_post=True),
    "oai.schema": Policy("public", params=lambda _site: {"name": sorted(SCHEMAS)[0]}),
    "auth.login": Policy("public", POST, lambda _site: {"username": ADMIN, "password": PASSWORD}),
    "auth.logout": Policy("public", POST),
    "review.queue": Policy("curator"),
    "review.record": Policy("curator"),
    "review.decide": Policy("curator", POST, decision),
    "review.approve_selected": Policy("curator", POST, pending_record),
    "review.approve_all": Policy("curator", POST, pending_source),
    "dashboard.index": Policy("curator"),
    "dashboard.runs": Policy("curator"),
    "dashboard.quarantine": Policy("curator"),
    "dashboard.quarantine_entry": Policy("curator"),
    "dashboard.quarantine_raw": Policy("curator"),
    "admin.index": Policy("admin"),
    "admin.sources": Policy("admin"),
    "admin.source_new": Policy("admin", POST, new_source),
    "admin.source_edit": Policy("admin", POST, toggle_source, params=lambda _site: {"name": "evil2"}),
    "admin.users": Policy("admin"),
    "admin.user_add": Policy("admin", POST, new_user),
    "admin.user_change": Policy("admin", POST, toggle_user, params=lambda _site: {"name": TARGET}),
}
"""The reviewed route table. A new endpoint goes here after someone decided who may call it."""


def samples(site: Site) -> dict[str, str]:
    """A real value for URL parameters, by name (Policy.params overrides per endpoint)."""
    with site.store.session() as s:
        entry = s.scalar(select(func.min(Quarantine.id)))
    return {"work_id": min(site.published), "record_id": site.evil_records[0], "filename": "huiju.js",
            "entry_id": str(entry)}


# -- fixtures -------------------------------------------------------------------------------------


def build_site(root: Path) -> Site:
    """A private copy of the teacher-site instance (these tests approve and return records), with a
    curator, an admin, the account the admin routes change and a quarantine entry."""
    site = _instance(root)
    with site.store.session(write=True) as s:
        for name, role in ((CURATOR, "curator"), (ADMIN, "admin"), (TARGET, "curator")):
            s.add(User(username=name, password_hash=generate_password_hash(PASSWORD, FAST_HASH), role=role,
                       active=True))
    site.store.quarantine("evil", None, "parse", "acl test: not XML", "file:acl.xml", b"<not xml")
    return site


@pytest.fixture(scope="module")
def acl_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return build_site(tmp_path_factory.mktemp("acl"))


@pytest.fixture
def acl_app(acl_site: Site) -> Iterator[Flask]:
    """A fresh app per test: its own login rate limiter. No OAI commit lag: the fixture's works are
    published seconds before the OAI tests ask for them (the lag hides the newest datestamps)."""
    yield from _app(acl_site, OAI_COMMIT_LAG=0)


def csrf_token(client: FlaskClient) -> str:
    html = client.get("/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:300]
    return found.group(1)


def sign_in(client: FlaskClient, name: str, password: str = PASSWORD, **extra: str):  # noqa: ANN201
    return client.post("/login", data={"username": name, "password": password, "csrf_token": csrf_token(client),
                                       **extra})


def client_as(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    if role != "anonymous":
        response = sign_in(client, CURATOR if role == "curator" else ADMIN)
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


def bearer(app: Flask, site: Site, name: str) -> dict[str, str]:
    """The Authorization header `huiju user token NAME` would give."""
    from repository import api_tokens

    with site.store.session() as s:
        password_hash = s.scalar(select(User.password_hash).where(User.username == name))
    return {"Authorization": f"Bearer {api_tokens.issue(app.config['SECRET_KEY'], name, password_hash)}"}


@dataclass
class Caller:
    """A signed-in (or anonymous) client with the credentials a policy's request carries."""

    client: FlaskClient
    headers: dict[str, str]
    policy: Policy

    def send(self, site: Site, path: str, method: str, csrf: str | None = "own") -> TestResponse:
        """The policy's form with a CSRF token ("own": the session's; None: none), or its JSON body."""
        token = csrf_token(self.client) if csrf == "own" else csrf
        body = self.policy.form(site)
        if self.policy.bearer:
            headers = {**self.headers, **({"X-CSRFToken": token} if token else {})}
            return self.client.open(path, method=method, json=body, headers=headers)
        return self.client.open(path, method=method, data={**body, "csrf_token": token} if token else body)


def caller(app: Flask, site: Site, policy: Policy, role: str, *, cookie_role: str | None = None) -> Caller:
    """`role` as the policy authenticates it: a cookie session, or a bearer token (then `cookie_role` may
    sign a cookie session in as well, which a bearer route must not heed)."""
    if not policy.bearer:
        return Caller(client_as(app, role), {}, policy)
    headers = bearer(app, site, CURATOR if role == "curator" else ADMIN) if role != "anonymous" else {}
    return Caller(client_as(app, cookie_role or "anonymous"), headers, policy)


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def fingerprint(site: Site) -> dict[str, object]:
    """Row counts of every table plus the review statuses: what any state-changing request moves."""
    with site.store.session() as s:
        counts: dict[str, object] = {t.name: s.scalar(select(func.count()).select_from(t))
                                     for t in Base.metadata.sorted_tables}
        counts["review_status"] = sorted(s.execute(select(RecordRow.review_status, func.count())
                                                   .group_by(RecordRow.review_status)).all())
    return counts


def endpoints(app: Flask) -> dict[str, list[Rule]]:
    found: dict[str, list[Rule]] = {}
    for rule in app.url_map.iter_rules():
        found.setdefault(rule.endpoint, []).append(rule)
    return found


def url(app: Flask, rule: Rule, site: Site) -> str:
    values = {**samples(site), **POLICY[rule.endpoint].params(site)}
    missing = [arg for arg in rule.arguments if arg not in values]
    assert not missing, f"{rule.endpoint}: add a sample value for {missing} in samples()"
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **{arg: values[arg] for arg in rule.arguments})


def is_api(path: str) -> bool:
    return path.startswith("/api/")


# -- the route table ------------------------------------------------------------------------------


def test_every_endpoint_is_classified(acl_app: Flask) -> None:
    found = endpoints(acl_app)
    unreviewed = sorted(set(found) - set(POLICY))
    assert not unreviewed, f"endpoints without an access policy (add them to POLICY after review): {unreviewed}"
    gone = sorted(set(POLICY) - set(found))
    assert not gone, f"POLICY names endpoints that no longer exist: {gone}"
    for endpoint, rules in found.items():
        policy = POLICY[endpoint]
        writes = set().union(*(rule.methods or set() for rule in rules)) - READ
        undeclared = writes - policy.changes - ({"POST"} if policy.reads_by_post else set())
        assert not undeclared, f"{endpoint}: {sorted(undeclared)} not declared as state-changing in POLICY"
        assert not policy.changes - writes, f"{endpoint}: POLICY declares methods the route does not take"


def expected_refusal(policy: Policy, role: str) -> str | None:
    """None when the role may call the endpoint; else "login" or "forbidden"."""
    if policy.access == "public":
        return None
    if role == "anonymous":
        return "login"
    if policy.access == "admin" and role != "admin":
        return "forbidden"
    return None


def check(response, path: str, refusal: str | None, write: bool) -> str | None:  # noqa: ANN001
    """A problem description, or None when the response is what the policy says."""
    status, location = response.status_code, response.headers.get("Location", "")
    if status >= 500:
        return f"{status} server error"
    if refusal == "login":
        if is_api(path):
            return None if status == 401 and response.is_json else f"{status}, expected 401 JSON"
        return None if status == 302 and urlsplit(location).path == "/login" else f"{status} {location}, expected login"
    if refusal == "forbidden":
        return None if status == 403 else f"{status}, expected 403"
    if status in (401, 403) or (status == 302 and urlsplit(location).path == "/login"):
        return f"{status} {location}: refused a role the policy allows"
    if not write and not 200 <= status < 400:
        return f"{status}, expected 2xx/3xx"
    return None


def test_every_read_route_answers_each_role_as_its_policy_says(acl_app: Flask, acl_site: Site) -> None:
    """And changes nothing: a GET needs no CSRF token, so it must never be a way to change the store."""
    problems: list[str] = []
    clients = {role: client_as(acl_app, role) for role in ROLES}
    for endpoint, rules in sorted(endpoints(acl_app).items()):
        policy = POLICY.get(endpoint)
        if policy is None:  # test_every_endpoint_is_classified names it
            continue
        for rule in rules:
            if "GET" not in (rule.methods or ()):
                continue
            path = url(acl_app, rule, acl_site)
            for role, client in clients.items():
                before = fingerprint(acl_site)
                response = client.get(path)
                problem = check(response, path, expected_refusal(policy, role), write=False)
                response.close()  # static files are streamed from disk
                if problem:
                    problems.append(f"GET {path} as {role}: {problem}")
                if fingerprint(acl_site) != before:
                    problems.append(f"GET {path} as {role} changed the store: a GET must not")
    assert not problems, "\n".join(problems)


def test_every_write_route_refuses_the_wrong_role_without_changing_anything(
        acl_app: Flask, acl_site: Site) -> None:
    problems: list[str] = []
    for policy, method, path in write_requests(acl_app, acl_site):
        for role in ROLES:
            refusal = expected_refusal(policy, role)
            who = caller(acl_app, acl_site, policy, role)
            before = fingerprint(acl_site)
            response = who.send(acl_site, path, method)
            problem = check(response, path, refusal, write=True)
            if problem:
                problems.append(f"{method} {path} as {role}: {problem}")
            if refusal and fingerprint(acl_site) != before:
                problems.append(f"{method} {path} as {role}: refused but the store changed")
    assert not problems, "\n".join(problems)


def write_requests(app: Flask, site: Site) -> Iterator[tuple[Policy, str, str]]:
    """(policy, method, path) of every state-changing request the classified routes take."""
    for endpoint, rules in sorted(endpoints(app).items()):
        policy = POLICY.get(endpoint)
        if policy is None:  # test_every_endpoint_is_classified names it
            continue
        for rule in rules:
            for method in sorted(policy.changes & (rule.methods or set())):
                yield policy, method, url(app, rule, site)


# -- CSRF -----------------------------------------------------------------------------------------


def test_every_state_changing_request_needs_the_csrf_token(acl_app: Flask, acl_site: Site) -> None:
    """Signed in as admin (a cookie session), without a token, with a forged one or with another session's:
    refused, and the store unchanged. A bearer route must refuse the cookie session even with its CSRF
    token. The same request done right does change the store, so "unchanged" is not vacuous."""
    problems: list[str] = []
    for policy, method, path in write_requests(acl_app, acl_site):
        tries = [(caller(acl_app, acl_site, policy, "anonymous", cookie_role="admin"), token)
                 for token in (None, "forged", csrf_token(acl_app.test_client()))]  # last: another session's
        if not policy.bearer:  # a bearer route must refuse the session even with its own CSRF token
            tries = [(caller(acl_app, acl_site, policy, "admin"), token) for _, token in tries]
        else:
            tries.append((caller(acl_app, acl_site, policy, "anonymous", cookie_role="admin"), "own"))
        for who, token in tries:
            before = fingerprint(acl_site)
            response = who.send(acl_site, path, method, csrf=token)
            if response.status_code not in (400, 401, 403):
                problems.append(f"{method} {path} with CSRF token {token!r}: {response.status_code}")
            if fingerprint(acl_site) != before:
                problems.append(f"{method} {path} with CSRF token {token!r}: the store changed")
        who = caller(acl_app, acl_site, policy, "admin")
        before = fingerprint(acl_site)
        response = who.send(acl_site, path, method)
        if response.status_code >= 400:
            problems.append(f"{method} {path} done right: {response.status_code}")
        if fingerprint(acl_site) == before:
            problems.append(f"{method} {path} done right changed nothing: the checks above prove nothing")
    assert not problems, "\n".join(problems)


def test_oai_post_is_exempt_and_changes_nothing(acl_app: Flask, acl_site: Site) -> None:
    client = client_as(acl_app, "admin")
    before = fingerprint(acl_site)
    response = client.post("/oai", data={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    assert response.status_code == 200 and b"<header" in response.data
    assert fingerprint(acl_site) == before


# -- sessions -------------------------------------------------------------------------------------


def test_login_rotates_the_session_and_a_planted_cookie_stays_anonymous(acl_app: Flask) -> None:
    attacker = acl_app.test_client()
    csrf_token(attacker)
    planted = session_cookie(attacker)
    assert planted
    victim = acl_app.test_client()
    victim.set_cookie("session", planted)
    assert sign_in(victim, CURATOR).status_code == 302
    signed_in = session_cookie(victim)
    assert signed_in and signed_in != planted
    assert attacker.get("/review").status_code == 302  # the planted session did not become the victim's
    again = acl_app.test_client()
    assert sign_in(again, CURATOR).status_code == 302
    assert session_cookie(again) != signed_in  # every login gets its own session


def test_logout_revokes_the_session_cookie(acl_app: Flask) -> None:
    """A copy of the cookie (stolen, or left in another tab) is worthless after logout."""
    client = client_as(acl_app, "curator")
    stolen = session_cookie(client)
    assert stolen and client.get("/review").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 302
    replay = acl_app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/review").status_code == 302
    assert replay.post("/review/approve-source", data={"source": "evil2", "csrf_token": csrf_token(replay)}
                       ).status_code == 302


def test_a_password_change_signs_the_old_sessions_out(acl_app: Flask, acl_site: Site) -> None:
    """An admin resetting a password (e.g. after a leak) also ends every session signed in with the old one."""
    name = "acl-leaked"
    with acl_site.store.session(write=True) as s:
        s.add(User(username=name, password_hash=generate_password_hash(PASSWORD, FAST_HASH), role="curator",
                   active=True))
    victim, thief = acl_app.test_client(), acl_app.test_client()
    assert sign_in(victim, name).status_code == 302
    thief.set_cookie("session", session_cookie(victim) or "")
    assert thief.get("/review").status_code == 200
    admin = client_as(acl_app, "admin")
    fresh = "N3w-password-after-leak"
    assert admin.post(f"/admin/users/{name}", data={"action": "password", "password": fresh, "password2": fresh,
                                                   "csrf_token": csrf_token(admin)}).status_code == 302
    assert thief.get("/review").status_code == 302 and victim.get("/review").status_code == 302
    assert sign_in(acl_app.test_client(), name, fresh).status_code == 302


def test_a_deactivated_account_loses_its_session(acl_app: Flask, acl_site: Site) -> None:
    name = "acl-leaver"
    with acl_site.store.session(write=True) as s:
        s.add(User(username=name, password_hash=generate_password_hash(PASSWORD), role="curator", active=True))
    client = acl_app.test_client()
    assert sign_in(client, name).status_code == 302 and client.get("/review").status_code == 200
    with acl_site.store.session(write=True) as s:
        s.scalar(select(User).where(User.username == name)).active = False
    assert client.get("/review").status_code == 302


# -- open redirects -------------------------------------------------------------------------------

HOSTILE_NEXT = [
    "//evil.example", "///evil.example", "https://evil.example", "http:evil.example", "/\\evil.example",
    "\\\\evil.example", "\\/evil.example", "/\\/evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>", " //evil.example", "\t//evil.example", "/\t/evil.example",
    "/%0d%0aSet-Cookie:x=1", "/review\r\nLocation: https://evil.example", "https:evil.example",
    "//evil.example@localhost", "/ /evil.example", "https://localhost@evil.example", "//%65vil.example",
]


def assert_stays_on_site(location: str) -> None:
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location
    assert parts.path.startswith("/") and not parts.path.startswith("//") and "\\" not in location, location
    assert not any(ord(c) < 33 for c in location), location


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_next_never_leaves_the_site(acl_app: Flask, target: str) -> None:
    for how in ("query", "encoded", "form"):
        client = acl_app.test_client()
        data = {"username": CURATOR, "password": PASSWORD, "csrf_token": csrf_token(client)}
        if how == "form":
            response = client.post("/login", data={**data, "next": target})
        else:
            query = quote(target, safe="") if how == "query" else quote(quote(target, safe=""), safe="")
            response = client.post(f"/login?next={query}", data=data)
        assert response.status_code == 302, (how, target)
        assert_stays_on_site(response.headers["Location"])
        page = client.get(f"/login?next={quote(target, safe='')}").get_data(as_text=True)
        carried = html.unescape(re.search(r'name="next" value="([^"]*)"', page).group(1))  # type: ignore[union-attr]
        assert not carried or (carried.startswith("/") and not carried.startswith("//") and "\\" not in carried
                               and not urlsplit(carried).netloc), (target, carried)


def test_approve_selected_next_never_leaves_the_site(acl_app: Flask, acl_site: Site) -> None:
    """The review queue's bulk form also returns to a `next`: same rule."""
    client = client_as(acl_app, "curator")
    for target in HOSTILE_NEXT:
        response = client.post("/review/approve-selected", data={
            **pending_record(acl_site), "next": target, "csrf_token": csrf_token(client)})
        assert response.status_code == 302, target
        assert_stays_on_site(response.headers["Location"])


def test_a_site_path_next_is_followed(acl_app: Flask, acl_site: Site) -> None:
    target = f"/review/{acl_site.evil_records[0]}?x=1"
    response = sign_in(acl_app.test_client(), CURATOR, next=target)
    assert response.status_code == 302 and response.headers["Location"] == target


def test_the_login_redirect_of_a_protected_page_keeps_only_the_path(acl_app: Flask) -> None:
    response = acl_app.test_client().get("/review?source=evil2", base_url="http://evil.example")
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login" and location.netloc in ("", "evil.example")  # the request's own host
    assert parse_qs(location.query)["next"] == ["/review?source=evil2"]


# -- login rate limit -----------------------------------------------------------------------------


def test_login_is_rate_limited_across_username_case_and_spacing(acl_app: Flask, acl_site: Site) -> None:
    name = "acl-victim"
    with acl_site.store.session(write=True) as s:
        s.add(User(username=name, password_hash=generate_password_hash(PASSWORD), role="curator", active=True))
    client = acl_app.test_client()
    variants = [name, name.upper(), f" {name.title()} ", name.swapcase(), f"{name}\t"]
    for variant in variants:
        assert sign_in(client, variant, "guess-" + variant).status_code == 401
    for variant in (name, name.upper()):
        response = sign_in(client, variant)  # even the right password waits for the window
        assert response.status_code == 429, variant
    assert client.get("/review").status_code == 302
    with acl_site.store.session() as s:
        refused = s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "login.refused", AuditLog.target_id.in_([name, name.upper()])))
    assert refused == 2


def test_a_wrong_password_costs_as_much_as_an_unknown_user(acl_app: Flask, acl_site: Site) -> None:
    """No user enumeration by timing: an unknown or inactive name is checked against a hash too.
    Best of three each (the machine is shared); a real account uses the default (scrypt) hash."""
    for name, active in (("acl-timed", True), ("acl-timed-gone", False)):
        with acl_site.store.session(write=True) as s:
            s.add(User(username=name, password_hash=generate_password_hash(PASSWORD), role="curator", active=active))
    client = acl_app.test_client()
    names = ("acl-timed", "acl-nobody-by-that-name", "acl-timed-gone")
    best = dict.fromkeys(names, float("inf"))
    for n in range(4):  # interleaved, so a busy moment of the machine hits every name alike
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{n}"  # the rate limit is per IP and name
        for name in names:
            token = csrf_token(client)
            started = time.perf_counter()
            response = client.post("/login", data={"username": name, "password": "wrong", "csrf_token": token})
            best[name] = min(best[name], time.perf_counter() - started)
            assert response.status_code == 401
    # without the dummy hash an unknown name answered ~100x faster; 0.3 leaves room for noise
    assert min(best.values()) > 0.3 * max(best.values()), best


# -- passwords never logged -----------------------------------------------------------------------


def audit_text(site: Site) -> str:
    with site.store.session() as s:
        return "\n".join(f"{e.actor} {e.action} {e.target_id} {e.before!r} {e.after!r}"
                         for e in s.scalars(select(AuditLog)))


def test_passwords_never_reach_the_logs_the_audit_log_or_a_page(
        acl_app: Flask, acl_site: Site, caplog: pytest.LogCaptureFixture) -> None:
    """Sign-in (wrong, then right), an admin adding an account (refused, then done), a password change and
    the new password's sign-in, with every logger at DEBUG (SQL and its parameters included)."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    caplog.set_level(logging.DEBUG, logger="werkzeug")
    wrong, first, second = "Wr0ng-secret-attempt", "F1rst-secret-of-newbie", "Sec0nd-secret-of-newbie"
    client = acl_app.test_client()
    pages = [sign_in(client, ADMIN, wrong), sign_in(client, ADMIN)]
    assert [p.status_code for p in pages] == [401, 302]
    form = {"username": "acl-newbie", "password": first, "role": "curator"}
    pages.append(client.post("/admin/users", data={**form, "password2": first + "x", "csrf_token": csrf_token(client)}))
    pages.append(client.post("/admin/users", data={**form, "password2": first, "csrf_token": csrf_token(client)}))
    pages.append(client.post("/admin/users/acl-newbie", data={"action": "password", "password": second,
                                                             "password2": second, "csrf_token": csrf_token(client)}))
    assert [p.status_code for p in pages[2:]] == [400, 302, 302]
    pages.append(client.get("/admin/users"))
    newbie = acl_app.test_client()
    pages += [sign_in(newbie, "acl-newbie", first), sign_in(newbie, "acl-newbie", second)]
    assert [p.status_code for p in pages[-2:]] == [401, 302]
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records), "SQL was not captured"
    shown = "\n".join(p.get_data(as_text=True) for p in pages)
    for secret in (PASSWORD, wrong, first, second):
        assert secret not in logged
        assert secret not in audit_text(acl_site)
        assert secret not in shown
    with acl_site.store.session() as s:
        assert not any(secret in h for h in s.scalars(select(User.password_hash)) for secret in (first, second))


def huiju_cli(instance: Path, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUIJU_INSTANCE_PATH": str(instance), "HUIJU_LOG_LEVEL": "DEBUG"}
    env.pop("HUIJU_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "repository", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_user_add_never_prints_or_audits_the_password(tmp_path: Path) -> None:
    secret = "Cl1-secret-of-the-new-user"
    result = huiju_cli(tmp_path, "user", "add", "cli-curator", "--password-stdin", stdin=secret + "\n")
    assert result.returncode == 0 and "cli-curator" in result.stdout, result.stderr
    assert secret not in result.stdout + result.stderr
    short = huiju_cli(tmp_path, "user", "add", "cli-curator", "--password-stdin", stdin="Sh0rt!\n")  # refused
    assert short.returncode != 0 and "Sh0rt!" not in short.stdout + short.stderr
    store_settings = Settings(environ={}, INSTANCE_PATH=str(tmp_path))
    from repository.store import Store

    store = Store(store_settings.database_url)
    with store.session() as s:
        entries = [f"{e.before!r} {e.after!r}" for e in s.scalars(select(AuditLog))]
        hashes = list(s.scalars(select(User.password_hash)))
    assert len(entries) == 1 and not any(secret in e for e in entries)
    assert hashes and not any(secret in h for h in hashes)

