"""Admin pages: sources and users. Admins only, CSRF on every form, every change audited, no password kept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from repository.models import AuditLog, User
from tests.site.operators import EVIL_NAME, PASSWORD, Ops, build, make_app, signed_in, token

GETS = ["/admin", "/admin/sources", "/admin/sources/new", "/admin/sources/city", "/admin/users"]
POSTS = [("/admin/sources/new", {"name": "x1", "kind": "oai", "location": "https://x.example/oai", "level": "school"}),
         ("/admin/sources/city", {"location": "https://city.example/oai", "level": "school", "enabled": "on"}),
         ("/admin/users", {"username": "eve", "role": "admin", "password": "x" * 12, "password2": "x" * 12}),
         ("/admin/users/cur", {"action": "role", "role": "admin"})]


@pytest.fixture
def ops(tmp_path) -> Ops:  # noqa: ANN001 - each test changes the instance
    return build(tmp_path)


@pytest.fixture
def app(ops: Ops) -> Iterator[Flask]:
    yield from make_app(ops)


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    return signed_in(app, "adm")


def post(client: FlaskClient, url: str, data: dict[str, str], status: int = 302) -> str:
    response = client.post(url, data={**data, "csrf_token": token(client, "/admin/users")})
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:800])
    return response.get_data(as_text=True)


def audit(ops: Ops, target_type: str, target: str) -> list[AuditLog]:
    with ops.store.session() as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.target_type == target_type,
                                                     AuditLog.target_id == target).order_by(AuditLog.id)))


def user(ops: Ops, name: str) -> User | None:
    with ops.store.session() as s:
        return s.scalar(select(User).where(User.username == name))


@pytest.mark.parametrize("url", GETS)
def test_pages_refuse_anonymous_and_curators(app: Flask, admin: FlaskClient, url: str) -> None:
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/login?next=" in anonymous.headers["Location"]
    assert signed_in(app, "cur").get(url).status_code == 403
    assert admin.get(url).status_code in (200, 302)


@pytest.mark.parametrize(("url", "data"), POSTS)
def test_changes_refuse_anonymous_curators_and_missing_csrf(app: Flask, ops: Ops, admin: FlaskClient, url: str,
                                                            data: dict[str, str]) -> None:
    before = (len(ops.store.list_sources()), ops.store.get_source("city").level, user(ops, "cur").role)
    anonymous = app.test_client()
    assert anonymous.post(url, data=data).status_code == 400  # no token
    assert anonymous.post(url, data={**data, "csrf_token": token(anonymous)}).status_code == 302  # to sign-in
    curator = signed_in(app, "cur")
    assert curator.post(url, data={**data, "csrf_token": token(curator, "/review")}).status_code == 403
    assert admin.post(url, data=data).status_code == 400  # an admin without the token
    assert admin.post(url, data={**data, "csrf_token": "forged"}).status_code == 400
    assert (len(ops.store.list_sources()), ops.store.get_source("city").level, user(ops, "cur").role) == before
    assert user(ops, "eve") is None


def test_add_a_source_validated_like_the_cli(ops: Ops, admin: FlaskClient) -> None:
    html = post(admin, "/admin/sources/new", {"name": "bad name", "kind": "oai", "location": "ftp://x",
                                              "level": "school", "schedule": "0 3 * *", "options": "nope"}, 400)
    assert "请修正以下问题" in html and "cron expression has 5 fields" in html and "http(s) URL" in html
    assert "not key=value" in html and "use letters, digits" in html
    assert ops.store.get_source("bad name") is None
    post(admin, "/admin/sources/new", {"name": "district-a", "kind": "oai", "location": "https://d.example/oai",
                                       "level": "district", "schedule": "every 6h", "enabled": "on",
                                       "options": "prefix=oai_lom\nset=k12"})
    source = ops.store.get_source("district-a")
    assert source.options == {"prefix": "oai_lom", "set": "k12"} and source.enabled and not source.auto_approve
    entry = audit(ops, "source", "district-a")[-1]
    assert entry.action == "source.add" and entry.actor == "adm" and entry.after["schedule"] == "every 6h"
    again = post(admin, "/admin/sources/new", {"name": "district-a", "kind": "oai", "location": "https://d.example/",
                                               "level": "district"}, 400)
    assert "已有名为 district-a 的来源平台" in again


def test_edit_a_source_is_audited_with_before_and_after(ops: Ops, admin: FlaskClient) -> None:
    post(admin, "/admin/sources/city", {"location": "https://city.example/oai", "level": "municipal",
                                        "schedule": "30 2 * * *", "auto_approve": "on"})  # enabled left off
    source = ops.store.get_source("city")
    assert (source.schedule, source.auto_approve, source.enabled) == ("30 2 * * *", True, False)
    entry = audit(ops, "source", "city")[-1]
    assert entry.action == "source.edit"
    assert entry.before == {"schedule": "0 3 * * *", "enabled": True, "auto_approve": False}
    assert entry.after == {"schedule": "30 2 * * *", "enabled": False, "auto_approve": True}
    html = post(admin, "/admin/sources/city", {"location": "https://city.example/oai", "level": "nowhere"}, 400)
    assert "level &#39;nowhere&#39;" in html and ops.store.get_source("city").level == "municipal"
    # an imported source (kind file, no location) keeps its old problems but can still be disabled
    post(admin, f"/admin/sources/{EVIL_NAME}", {"location": "", "level": "school"})
    assert not ops.store.get_source(EVIL_NAME).enabled
    assert admin.get("/admin/sources/nope").status_code == 404


def test_source_names_are_escaped(admin: FlaskClient) -> None:
    for url in ("/admin/sources", f"/admin/sources/{EVIL_NAME}"):
        html = admin.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;src&#34;)" in html


def test_add_a_user_who_can_then_sign_in(app: Flask, ops: Ops, admin: FlaskClient) -> None:
    new_password = "a new long password"
    post(admin, "/admin/users", {"username": "dana", "role": "curator", "review_level": "district",
                                 "password": new_password, "password2": new_password})
    dana = user(ops, "dana")
    assert dana.role == "curator" and dana.review_level == "district" and dana.active
    assert signed_in(app, "dana", new_password).get("/dashboard").status_code == 200
    entry = audit(ops, "user", "dana")[0]
    assert (entry.action, entry.actor, entry.after) == ("user.add", "adm",
                                                       {"role": "curator", "review_level": "district", "active": True})
    for data, message in (({"username": "dana", "password": "x" * 9, "password2": "x" * 9}, "已有账号 dana"),
                          ({"username": "fay", "password": "short", "password2": "short"}, "至少需要 8 个字符"),
                          ({"username": "fay", "password": "x" * 9, "password2": "y" * 9}, "两次输入的密码不一致"),
                          ({"username": "", "password": "x" * 9, "password2": "x" * 9}, "1 到 100 个字符")):
        assert message in post(admin, "/admin/users", {"role": "curator", **data}, 400)
    assert user(ops, "fay") is None
    post(admin, "/admin/users", {"username": "gil", "role": "owner", "password": "x" * 9, "password2": "x" * 9}, 400)


def test_role_deactivate_reactivate_and_password(app: Flask, ops: Ops, admin: FlaskClient) -> None:
    curator = signed_in(app, "cur")
    post(admin, "/admin/users/cur", {"action": "role", "role": "admin", "review_level": "school"})
    assert (user(ops, "cur").role, user(ops, "cur").review_level) == ("admin", "school")
    assert curator.get("/admin/users").status_code == 200  # the role is read on every request
    post(admin, "/admin/users/cur", {"action": "deactivate"})
    assert not user(ops, "cur").active
    assert curator.get("/dashboard").status_code == 302  # signed out at once
    assert app.test_client().post("/login", data={"username": "cur", "password": PASSWORD,
                                                  "csrf_token": token(app.test_client())}).status_code in (400, 401)
    post(admin, "/admin/users/cur", {"action": "reactivate"})
    fresh = "replacement password"
    post(admin, "/admin/users/cur", {"action": "password", "password": fresh, "password2": fresh})
    signed_in(app, "cur", fresh)
    assert "两次输入的密码不一致" in post(admin, "/admin/users/cur", {"action": "password", "password": fresh,
                                                                    "password2": fresh + "!"}, 400)
    actions = [(e.action, e.before, e.after) for e in audit(ops, "user", "cur")
               if e.action.startswith("user.")]
    assert actions == [
        ("user.role", {"role": "curator", "review_level": None}, {"role": "admin", "review_level": "school"}),
        ("user.deactivate", {"active": True}, {"active": False}),
        ("user.reactivate", {"active": False}, {"active": True}),
        ("user.reset", None, None),
    ]
    with ops.store.session() as s:
        hashes = list(s.scalars(select(User.password_hash)))
        for entry in s.scalars(select(AuditLog)):
            text = repr(entry.before) + repr(entry.after)
            assert fresh not in text and PASSWORD not in text and not any(h in text for h in hashes)
    assert admin.post("/admin/users/nobody", data={"action": "deactivate",
                                                   "csrf_token": token(admin, "/admin/users")}).status_code == 404
    assert admin.post("/admin/users/cur", data={"action": "delete",
                                                "csrf_token": token(admin, "/admin/users")}).status_code == 400


def test_an_admin_cannot_lock_themself_out(ops: Ops, admin: FlaskClient) -> None:
    assert "不能停用自己的账号" in post(admin, "/admin/users/adm", {"action": "deactivate"}, 400)
    assert "不能停用自己的账号" in post(admin, "/admin/users/adm", {"action": "role", "role": "curator"}, 400)
    me = user(ops, "adm")
    assert me.active and me.role == "admin"
    post(admin, "/admin/users/adm", {"action": "role", "role": "admin", "review_level": "municipal"})
    assert user(ops, "adm").review_level == "municipal"
    assert 'value="deactivate"' not in admin.get("/admin/users").get_data(as_text=True).split("adm ·")[1].split(
        "</details>")[0]


def test_navigation_and_sign_in_link(app: Flask, admin: FlaskClient) -> None:
    anonymous = app.test_client().get("/no-such-page").get_data(as_text=True)
    assert 'class="signin" href="/login"' in anonymous
    curator = signed_in(app, "cur").get("/dashboard").get_data(as_text=True)
    assert 'href="/dashboard" aria-current="page"' in curator and 'href="/review"' in curator
    assert 'href="/admin/sources"' not in curator and 'class="signin"' not in curator
    assert 'href="/admin/sources"' in admin.get("/dashboard").get_data(as_text=True)


def test_cookie_flags_follow_the_settings(ops: Ops) -> None:
    for secure in (False, True):
        for app in make_app(ops, SITE_SECURE_COOKIES=secure):
            client = app.test_client()
            response = client.post("/login", data={"username": "adm", "password": PASSWORD,
                                                   "csrf_token": token(client)})
            cookie = response.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
            assert ("; Secure" in cookie) is secure


@pytest.mark.parametrize("hops", [0, 1])
def test_proxy_hops_decide_whose_address_is_rate_limited(ops: Ops, hops: int) -> None:
    """Behind one trusted proxy, X-Forwarded-For is the client: one client's failures do not block another."""
    apps = make_app(ops, SITE_PROXY_HOPS=hops)
    app = next(apps)

    def attempt(client_ip: str) -> int:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "10.0.0.1"  # the proxy
        return client.post("/login", headers={"X-Forwarded-For": client_ip},
                           data={"username": "adm", "password": "wrong password", "csrf_token": token(client)}
                           ).status_code

    assert [attempt("203.0.113.1") for _ in range(5)] == [401] * 5
    assert attempt("198.51.100.2") == (401 if hops else 429)
    next(apps, None)
