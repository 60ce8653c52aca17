"""POST /api/review/<record_id>: bearer tokens (repository/api_tokens.py), the rubric and stages, JSON errors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous.encoding import base64_decode, base64_encode
from openapi_schema_validator import OAS31Validator
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from repository import api_tokens
from repository.cli import main
from repository.models import AuditLog, RecordRow, ReviewAction, User
from repository.review_rubric import dimensions
from tests.site.conftest import Site, _app, _instance
from tests.site.test_review import PASSWORD, signed_in
from tests.site.test_review_levels import pending_unpublished

PASS = {code: "pass" for code in dimensions()}
LIFETIME = 3600


@pytest.fixture(scope="module")
def asite(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = _instance(Path(tmp_path_factory.mktemp("api-review")))
    with site.store.session(write=True) as s:
        for name, level in (("cura", None), ("gone", None), ("moved", None), ("schoolie", "school")):
            s.add(User(username=name, password_hash=generate_password_hash(PASSWORD), role="curator",
                       review_level=level))
    return site


@pytest.fixture(scope="module")
def aapp(asite: Site) -> Iterator[Flask]:
    yield from _app(asite, API_TOKEN_LIFETIME=LIFETIME)


def bearer(app: Flask, site: Site, name: str, **kwargs: int) -> str:
    with site.store.session() as s:
        password_hash = s.scalar(select(User.password_hash).where(User.username == name))
    return api_tokens.issue(app.config["SECRET_KEY"], name, password_hash, **kwargs)


def post(client: FlaskClient, record: str, body: object, token: str | None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post(f"/api/review/{record}", json=body, headers=headers)
    assert response.mimetype == "application/json"
    return response.status_code, response.get_json()


def assert_error(answer: dict, kind: str) -> None:
    assert set(answer) == {"error"} and answer["error"]["type"] == kind, answer
    assert isinstance(answer["error"]["code"], int) and answer["error"]["message"]


def test_approve_with_a_token_publishes_and_is_audited(aapp: Flask, asite: Site) -> None:
    client = aapp.test_client()
    record = pending_unpublished(asite, 1)[0]
    with asite.store.session() as s:
        work = s.scalar(select(RecordRow.work_id).where(RecordRow.id == record))
    assert client.get(f"/api/works/{work}").status_code == 404
    token = bearer(aapp, asite, "cura")
    status, answer = post(client, record, {"decision": "approve", "scores": PASS, "comment": "ok"}, token)
    assert status == 200, answer
    assert answer == {"record_id": record, "review_status": "approved", "stage": "district", "awaiting": None,
                      "index_updated": True}
    doc = client.get("/api/openapi.json").get_json()
    schema = {**doc["components"]["schemas"]["ReviewResult"], "components": doc["components"]}
    OAS31Validator(schema).validate(answer)
    assert client.get(f"/api/works/{work}").status_code == 200  # the teacher-facing API shows it now
    with asite.store.session() as s:
        action = s.scalar(select(ReviewAction).where(ReviewAction.record_id == record))
        entry = s.scalar(select(AuditLog).where(AuditLog.target_id == record, AuditLog.action == "record.approved"))
    assert action.actor == "cura" and action.scores == {code: {"result": "pass"} for code in dimensions()}
    assert entry.actor == "cura" and entry.before["review_status"] == "pending" and entry.after["comment"] == "ok"
    status, answer = post(client, record, {"decision": "approve", "scores": PASS}, token)
    assert status == 409
    assert_error(answer, "already_approved")


def test_rubric_and_body_errors_are_json(aapp: Flask, asite: Site) -> None:
    client = aapp.test_client()
    record = pending_unpublished(asite, 2)[1]
    token = bearer(aapp, asite, "cura")
    partial = {k: v for k, v in PASS.items() if k != "copyright"}
    status, answer = post(client, record, {"decision": "approve", "scores": partial}, token)
    assert status == 400 and answer["error"]["dimensions"] == ["copyright"] and "版权" in answer["error"]["message"]
    assert_error(answer, "incomplete_rubric")
    status, answer = post(client, record, {"decision": "reject"}, token)
    assert status == 400
    assert_error(answer, "reason_required")
    status, answer = post(client, record, {"decision": "approve", "scores": {**PASS, "beauty": "pass"}}, token)
    assert status == 400
    assert_error(answer, "unknown_dimension")
    for body in (["approve"], {"scores": PASS}, {"decision": "approve", "comment": 3}, "not json"):
        status, answer = post(client, record, body, token)
        assert status == 400
        assert_error(answer, "bad_request")
    status, answer = post(client, "nosuchrecord", {"decision": "return", "comment": "x"}, token)
    assert status == 404
    assert_error(answer, "not_found")
    response = client.get(f"/api/review/{record}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405 and response.get_json()["error"]["code"] == 405
    with asite.store.session() as s:
        assert s.scalar(select(RecordRow.review_status).where(RecordRow.id == record)) == "pending"
        assert s.scalar(select(ReviewAction.id).where(ReviewAction.record_id == record)) is None
    status, answer = post(client, record, {"decision": "return", "scores": {"copyright": {
        "result": "fail", "comment": "未注明授权"}}}, token)
    assert status == 200 and answer["review_status"] == "returned"


def test_missing_forged_and_expired_tokens_are_refused(aapp: Flask, asite: Site) -> None:
    client = aapp.test_client()
    record = pending_unpublished(asite, 3)[2]
    body = {"decision": "return", "comment": "x"}
    status, answer = post(client, record, body, None)
    assert status == 401
    assert_error(answer, "unauthorized")
    response = client.post(f"/api/review/{record}", json=body, headers={"Authorization": "Basic Y3VyYTp4"})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    good = bearer(aapp, asite, "cura")
    with asite.store.session() as s:
        password_hash = s.scalar(select(User.password_hash).where(User.username == "cura"))
    forged = api_tokens.issue("not the server's key", "cura", password_hash)
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    payload, stamp, signature = good.split(".")
    swapped = ".".join((base64_encode(json.dumps({"u": "moved", "p": "0" * 24}).encode()).decode(), stamp, signature))
    assert json.loads(base64_decode(payload))["u"] == "cura"
    for token in (forged, tampered, "garbage", swapped):
        status, answer = post(client, record, body, token)
        assert status == 401
        assert_error(answer, "bad_token")
    expired = bearer(aapp, asite, "cura", issued_at=int(time.time()) - LIFETIME - 5)
    status, answer = post(client, record, body, expired)
    assert status == 401
    assert_error(answer, "token_expired")
    almost = bearer(aapp, asite, "cura", issued_at=int(time.time()) - LIFETIME + 60)
    assert api_tokens.verify(aapp.config["SECRET_KEY"], almost, asite.store, LIFETIME).username == "cura"
    with asite.store.session() as s:
        assert s.scalar(select(ReviewAction.id).where(ReviewAction.record_id == record)) is None


def test_password_change_and_deactivation_revoke_tokens(aapp: Flask, asite: Site) -> None:
    client = aapp.test_client()
    record = pending_unpublished(asite, 4)[3]
    body = {"decision": "return", "comment": "x"}
    moved, gone = bearer(aapp, asite, "moved"), bearer(aapp, asite, "gone")
    with asite.store.session(write=True) as s:
        s.execute(update(User).where(User.username == "moved").values(password_hash=generate_password_hash("new one!")))
        s.execute(update(User).where(User.username == "gone").values(active=False))
    for token in (moved, gone):
        status, answer = post(client, record, body, token)
        assert status == 401
        assert_error(answer, "token_revoked")


def test_a_cookie_session_is_not_enough(aapp: Flask, asite: Site) -> None:
    record = pending_unpublished(asite, 5)[4]
    curator = signed_in(aapp, "cura")  # a real signed-in browser session, cookies and all
    status, answer = post(curator, record, {"decision": "return", "comment": "x"}, None)
    assert status == 401
    assert_error(answer, "unauthorized")


@pytest.fixture
def staged_app(asite: Site) -> Iterator[Flask]:
    yield from _app(asite, REVIEW_STAGES="school,district")


def test_stage_rules_apply_to_the_api(staged_app: Flask, asite: Site) -> None:
    app = staged_app
    client = app.test_client()
    record = pending_unpublished(asite, 6)[5]
    cura = bearer(app, asite, "cura")  # any stage
    status, answer = post(client, record, {"decision": "approve", "scores": PASS}, cura)
    assert status == 200 and answer["review_status"] == "pending" and answer["awaiting"] == "district"
    status, answer = post(client, record, {"decision": "approve", "scores": PASS}, cura)
    assert status == 403
    assert_error(answer, "already_signed")
    status, answer = post(client, record, {"decision": "approve", "scores": PASS}, bearer(app, asite, "schoolie"))
    assert status == 403
    assert_error(answer, "wrong_stage")


def test_cli_prints_a_working_token(aapp: Flask, asite: Site) -> None:
    env = {"HUIJU_INSTANCE_PATH": str(asite.root)}
    result = CliRunner().invoke(main, ["user", "token", "cura"], env=env)
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    reviewer = api_tokens.verify(aapp.config["SECRET_KEY"], token, asite.store, LIFETIME)
    assert reviewer.username == "cura" and reviewer.role == "curator"
    missing = CliRunner().invoke(main, ["user", "token", "nobody"], env=env)
    assert missing.exit_code != 0 and "no active account" in missing.output
    with asite.store.session() as s:
        assert s.scalar(select(AuditLog.action).where(AuditLog.target_id == "cura", AuditLog.action == "user.token"))
