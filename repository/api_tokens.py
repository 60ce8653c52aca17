"""Bearer tokens for the review API (`huiju user token NAME`): signed, bound to one account, short-lived.

A token is itsdangerous' URL-safe timed signature, made with the app's secret
key, over the user name and a fingerprint of the user's password hash (an HMAC
under the same key, so the token reveals nothing about the hash). It stops
working when it is older than API_TOKEN_LIFETIME, when the password changes
(`huiju user add` again: new hash, new fingerprint), or when the account is
deactivated or loses its reviewer role; nothing is stored server-side, so
revoking every token at once means changing SECRET_KEY.
"""

from __future__ import annotations

import hashlib
import hmac

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from repository.models import User
from repository.review_decisions import REVIEWER_ROLES, Reviewer
from repository.store import Store

SALT = "huiju.review-api-token"


class TokenError(Exception):
    """A refused token: ``code`` for the JSON error, ``message`` in words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _fingerprint(secret: str, password_hash: str) -> str:
    return hmac.new(secret.encode(), password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def _serializer(secret: str, issued_at: int | None = None) -> URLSafeTimedSerializer:
    if issued_at is None:
        return URLSafeTimedSerializer(secret, salt=SALT)

    class Dated(TimestampSigner):  # a token as of another time (tests of expiry; back-dated issue)
        def get_timestamp(self) -> int:
            return issued_at

    return URLSafeTimedSerializer(secret, salt=SALT, signer=Dated)


def issue(secret: str, username: str, password_hash: str, *, issued_at: int | None = None) -> str:
    return _serializer(secret, issued_at).dumps({"u": username, "p": _fingerprint(secret, password_hash)})


def verify(secret: str, token: str, store: Store, max_age: int) -> Reviewer:
    """The reviewer the token stands for, or TokenError (expired, forged, revoked)."""
    try:
        data = _serializer(secret).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenError("token_expired", "the token has expired: ask for a new one (huiju user token)") from None
    except BadSignature:
        raise TokenError("bad_token", "the token is not valid") from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), str) or not isinstance(data.get("p"), str):
        raise TokenError("bad_token", "the token is not valid")
    with store.session() as s:
        user = s.scalar(select(User).where(User.username == data["u"]))
    if user is None or not user.active or not hmac.compare_digest(data["p"], _fingerprint(secret, user.password_hash)):
        raise TokenError("token_revoked", "the token was revoked: the account changed its password or was deactivated")
    if user.role not in REVIEWER_ROLES:
        raise TokenError("forbidden", "this account may not review")
    return Reviewer(user.username, user.role, user.review_level)
