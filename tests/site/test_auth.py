"""Curator sign-in: login/logout, wrong password, rate limit, CSRF, session fixation, open redirect, audit."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from repository.auth import RateLimiter, safe_next
from repository.models import AuditLog, User
from tests.site.conftest import Site

PASSWORD = "correct horse battery"


def add_user(site: Site, name: str, role: str = "curator", *, active: bool = True) -> None:
    with site.store.session(write=True) as s:
        if s.scalar(select(User).where(User.username == name)) is None:
            s.add(User(username=name, password_hash=generate_password_hash(PASSWORD), role=role, active=active))


def token(client: FlaskClient, url: str = "/login") -> str:
    html = client.get(url).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def login(client: FlaskClient, name: str, password: str = PASSWORD, **extra: str):  # noqa: ANN201
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token(client), **extra})


def audit_actions(site: Site, name: str) -> list[str]:
    with site.store.session() as s:
        return list(s.scalars(select(AuditLog.action).where(AuditLog.target_type == "user",
                                                            AuditLog.target_id == name).order_by(AuditLog.id)))


@pytest.fixture
def fresh(app: Flask) -> FlaskClient:
    return app.test_client()


def test_login_page_has_a_csrf_token_and_no_hard_coded_text(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert 'name="csrf_token"' in html and 'type="password"' in html and "管理员登录" in html
    assert "Curator sign-in" in client.get("/login?lang=en").get_data(as_text=True)


def test_login_and_logout_are_audited(site: Site, fresh: FlaskClient) -> None:
    add_user(site, "alice")
    response = login(fresh, "alice")
    assert response.status_code == 302 and response.headers["Location"].endswith("/review")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert fresh.get("/review").status_code == 200
    assert fresh.get("/logout").status_code == 405  # logout is POST only
    response = fresh.post("/logout", data={"csrf_token": token(fresh, "/review")})
    assert response.status_code == 302
    assert fresh.get("/review").status_code == 302  # signed out
    assert audit_actions(site, "alice")[-2:] == ["login", "logout"]
    with site.store.session() as s:
        for entry in s.scalars(select(AuditLog).where(AuditLog.target_type == "user")):
            assert PASSWORD not in repr(entry.before) + repr(entry.after)


def test_wrong_password_unknown_user_and_inactive_user(site: Site, fresh: FlaskClient) -> None:
    add_user(site, "bob")
    add_user(site, "gone", active=False)
    for name, password in (("bob", "wrong password"), ("nobody", PASSWORD), ("gone", PASSWORD)):
        response = login(fresh, name, password)
        assert response.status_code == 401
        assert "用户名或密码不正确" in response.get_data(as_text=True)
        assert fresh.get("/review").status_code == 302
    assert audit_actions(site, "bob")[-1] == "login.failed"
    assert audit_actions(site, "nobody")[-1] == "login.failed"


def test_rate_limit_per_ip_and_user(site: Site, app: Flask) -> None:
    add_user(site, "carol")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for _ in range(5):
        assert login(attacker, "carol", "guess").status_code == 401
    blocked = login(attacker, "carol")  # even the right password waits for the window
    assert blocked.status_code == 429 and "登录失败次数过多" in blocked.get_data(as_text=True)
    assert audit_actions(site, "carol")[-1] == "login.refused"
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert login(elsewhere, "carol").status_code == 302  # another IP is not blocked


def test_rate_limiter_window() -> None:
    now = [0.0]
    limiter = RateLimiter(attempts=2, window=10, clock=lambda: now[0])
    limiter.fail("k")
    limiter.fail("k")
    assert limiter.blocked("k") and not limiter.blocked("other")
    now[0] = 10.5
    assert not limiter.blocked("k")
    limiter.fail("k")
    limiter.reset("k")
    assert not limiter.blocked("k")


def test_csrf_token_required_on_forms(site: Site, fresh: FlaskClient) -> None:
    add_user(site, "dave")
    assert fresh.post("/login", data={"username": "dave", "password": PASSWORD}).status_code == 400
    assert login(fresh, "dave").status_code == 302
    assert fresh.post("/logout").status_code == 400
    assert fresh.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert fresh.get("/review").status_code == 200  # still signed in
    assert fresh.get("/api/search?q=x").status_code == 200  # reads need no token
    assert fresh.post("/oai", data={"verb": "Identify"}).status_code == 200  # OAI-PMH POST is exempt


def test_session_is_renewed_on_login(site: Site, fresh: FlaskClient) -> None:
    add_user(site, "erin")
    with fresh.session_transaction() as sess:
        sess["planted"] = "by an attacker"
        sess["sid"] = "fixed-by-attacker"
    assert login(fresh, "erin").status_code == 302
    with fresh.session_transaction() as sess:
        assert "planted" not in sess and sess["sid"] != "fixed-by-attacker" and sess["user"] == "erin"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/x",
                                    "javascript:alert(1)", "review", "/\tevil"])
def test_open_redirect_refused(site: Site, fresh: FlaskClient, target: str) -> None:
    add_user(site, "frank")
    response = login(fresh, "frank", next=target)
    assert response.status_code == 302
    assert response.headers["Location"] in ("/review", "http://localhost/review")


def test_next_followed_when_same_site(site: Site, fresh: FlaskClient) -> None:
    add_user(site, "grace")
    anonymous = fresh.get("/review?source=city")
    assert anonymous.status_code == 302 and "/login?next=" in anonymous.headers["Location"]
    response = login(fresh, "grace", next="/review?source=city")
    assert response.headers["Location"].endswith("/review?source=city")
    assert safe_next("/works/abc?x=1") == "/works/abc?x=1" and safe_next("///evil") is None


def test_cli_user_add_then_login(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from click.testing import CliRunner

    from repository.app import create_app
    from repository.cli import main
    from repository.settings import Settings

    monkeypatch.setenv("HUIJU_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("HUIJU_DATABASE_URL", raising=False)
    runner = CliRunner()
    result = runner.invoke(main, ["user", "add", "hana", "--role", "admin", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output and "hana" in result.output
    short = runner.invoke(main, ["user", "add", "ian", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "at least" in short.output
    prompted = runner.invoke(main, ["user", "add", "hana", "--role", "curator"], input=f"{PASSWORD}2\n{PASSWORD}2\n")
    assert prompted.exit_code == 0 and "reset" in prompted.output and PASSWORD not in prompted.output
    app = create_app(Settings(environ={}, INSTANCE_PATH=str(tmp_path)))
    app.config.update(TESTING=True)
    client = app.test_client()
    assert login(client, "hana", PASSWORD + "2").status_code == 302
    store = app.extensions["huiju.store"]
    with store.session() as s:
        user = s.scalar(select(User).where(User.username == "hana"))
        assert user.role == "curator" and PASSWORD not in user.password_hash
        actions = list(s.scalars(select(AuditLog.action).where(AuditLog.target_id == "hana").order_by(AuditLog.id)))
    assert actions[:2] == ["user.add", "user.reset"] and "login" in actions
    from repository.views.browse import close_backend
    close_backend(app)
    store.close()
